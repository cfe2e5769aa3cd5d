import { SIGNING_KEYS_STREAM } from '@tollgate/contracts';
import { InMemoryEventStore } from '@tollgate/event-store';
import { InMemorySigningKeyVault, SigningKeysService } from '@tollgate/signing-keys';
import { T0, TEST_SCHEDULE } from './in-memory-keys';

/** Two replicas' signing-key services on one store and one vault (test support). */
export class InMemoryKeySigningPair {
  readonly store = new InMemoryEventStore();
  readonly vault = new InMemorySigningKeyVault();
  private readonly logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
  /** One replica: its own service on the shared store and vault. */
  private readonly replica = () =>
    new SigningKeysService({
      stream: SIGNING_KEYS_STREAM,
      name: 'keys',
      store: this.store,
      vault: this.vault,
      schedule: TEST_SCHEDULE,
      clock: () => T0,
      logger: this.logger,
    });
  readonly a = this.replica();
  readonly b = this.replica();
}
