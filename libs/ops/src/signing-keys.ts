import { KeySealer } from '@tollgate/authn';
import type { TollgateConfig } from '@tollgate/config';
import { KEYS_SCHEMA } from '@tollgate/contracts';
import { createDataSource } from '@tollgate/database';
import { PostgresEventStore } from '@tollgate/event-store';
import {
  activeSigningKey,
  defaultSigningKeySchedule,
  PostgresSigningKeyVault,
  SigningKeysService,
} from '@tollgate/keys';
import { Registry } from 'prom-client';
import { unreachableError } from './cli-errors';
import { currentKek } from './key-encryption';

export interface RotateSigningReport {
  /** false: a successor already activates sooner than the lead asked for; it is the rotation. */
  published: boolean;
  /** The key that takes over, and when (it is in the JWKS from now on). */
  kid: string | null;
  activatesAt: string | null;
  /** The key signing now: it stays in the JWKS until its last token has expired. */
  previousKid: string | null;
  previousRetiresAfter: string | null;
  /** Scheduled successors that never signed, retired unused; keys whose last token had expired. */
  retired: string[];
}

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * `tollgate keys rotate-signing`: rotates the service-token signing key now, through the keys service's own
 * stream and vault (the private half sealed under the KEK the services run with), with the schedule's rules:
 * the new key is published `leadSeconds` before it signs, the old one stays published until its last token
 * has expired, and the running keys services retire it then.
 */
export async function rotateSigning(
  url: string,
  config: TollgateConfig,
  leadSeconds: number,
  now = Date.now(),
): Promise<RotateSigningReport> {
  const sealer = new KeySealer(currentKek(config));
  const dataSource = createDataSource({ url, migrations: [], name: 'tollgate-ops-signing', poolSize: 2 });
  try {
    await dataSource.initialize();
  } catch (err) {
    throw unreachableError(`cannot reach PostgreSQL: ${(err as Error).message}`);
  }
  try {
    const schedule = defaultSigningKeySchedule(config.maxStalenessMs);
    const service = new SigningKeysService({
      store: new PostgresEventStore({ dataSource, schema: KEYS_SCHEMA, registry: new Registry() }),
      vault: new PostgresSigningKeyVault(dataSource, sealer),
      schedule,
      clock: () => now,
      logger: silent,
    });
    const previous = activeSigningKey(await service.refresh(), now)?.kid ?? null;
    const result = await service.rotate(leadSeconds * 1000, now);
    const takesOver = result.activatesAt === null ? null : Date.parse(result.activatesAt);
    return {
      ...result,
      previousKid: previous,
      previousRetiresAfter:
        previous === null || takesOver === null
          ? null
          : new Date(takesOver + schedule.tokenLifetimeMs + schedule.retirementMarginMs).toISOString(),
    };
  } finally {
    await dataSource.destroy();
  }
}
