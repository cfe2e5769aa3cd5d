import type { DomainEvent } from '@tollgate/contracts';
import type { RecordedEvent } from '@tollgate/event-store';
import type { ExternalAccessPolicy, KeyPolicy } from '../types';
import { DEFAULT_EXTERNAL_ACCESS_POLICY, DEFAULT_KEY_POLICY, type Evolver } from './records';

interface Versioned<P> {
  policy: P;
  version: number;
}

/** The two policies, each the state of its own stream: the highest stream version wins. */
export class PoliciesArea implements Evolver {
  private external: Versioned<ExternalAccessPolicy> = { policy: DEFAULT_EXTERNAL_ACCESS_POLICY, version: 0 };
  private keys: Versioned<KeyPolicy> = { policy: DEFAULT_KEY_POLICY, version: 0 };

  evolve(e: DomainEvent, event: RecordedEvent): void {
    const version = event.streamVersion;
    if (e.type === 'ExternalAccessPolicyChanged' && version > this.external.version)
      this.external = { policy: Object.freeze({ ...e.data }), version };
    else if (e.type === 'KeyPolicyChanged' && version > this.keys.version) {
      // The lifetimes of user keys only: the service-token maximum is the keys service's own concern, and a
      // snapshot holds exactly these two fields.
      const { defaultLifetimeDays, maxLifetimeDays } = e.data;
      this.keys = { policy: Object.freeze({ defaultLifetimeDays, maxLifetimeDays }), version };
    }
  }

  /** The external-access policy (default -1: no limit). */
  externalAccessPolicy(): ExternalAccessPolicy {
    return this.external.policy;
  }

  /** The key policy (default 365/365 days). */
  keyPolicy(): KeyPolicy {
    return this.keys.policy;
  }

  isEmpty(): boolean {
    return this.external.version === 0 && this.keys.version === 0;
  }

  snapshotPart(): { externalAccessPolicy: Versioned<ExternalAccessPolicy>; keyPolicy: Versioned<KeyPolicy> } {
    return { externalAccessPolicy: { ...this.external }, keyPolicy: { ...this.keys } };
  }

  load(part: { externalAccessPolicy: Versioned<ExternalAccessPolicy>; keyPolicy: Versioned<KeyPolicy> }): void {
    this.external = { ...part.externalAccessPolicy };
    this.keys = { ...part.keyPolicy };
  }
}
