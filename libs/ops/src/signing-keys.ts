import { KeySealer } from '@tollgate/authn';
import type { TollgateConfig } from '@tollgate/config';
import { IDENTITY_SCHEMA, IDENTITY_SIGNING_KEYS_STREAM, KEYS_SCHEMA, SIGNING_KEYS_STREAM } from '@tollgate/contracts';
import { createDataSource, type SealedColumn } from '@tollgate/database';
import { PostgresEventStore } from '@tollgate/event-store';
import { IDENTITY_SIGNING_KEY_COLUMN } from '@tollgate/identity';
import { KEYS_SIGNING_KEY_COLUMN, KeyPolicyService } from '@tollgate/keys';
import {
  activeSigningKey,
  defaultSigningKeySchedule,
  SealedSigningKeyVault,
  SigningKeysService,
} from '@tollgate/signing-keys';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { CliError, unreachableError } from './cli-errors';
import { currentKek } from './key-encryption';

/** The two token signers: the keys service's service tokens (`POST /v1/tokens`) and IdP sign-in tokens. */
export const SIGNERS = ['service', 'sign-in'] as const;
export type Signer = (typeof SIGNERS)[number];

/** Where each signer's keys live: its writer's schema (event store), stream and sealed private halves. */
const SIGNER_STORES: Record<Signer, { schema: string; stream: string; column: SealedColumn; writer: string }> = {
  service: { schema: KEYS_SCHEMA, stream: SIGNING_KEYS_STREAM, column: KEYS_SIGNING_KEY_COLUMN, writer: 'keys' },
  'sign-in': {
    schema: IDENTITY_SCHEMA,
    stream: IDENTITY_SIGNING_KEYS_STREAM,
    column: IDENTITY_SIGNING_KEY_COLUMN,
    writer: 'identity',
  },
};

export interface SignerRotation {
  signer: Signer;
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

export interface RotateSigningReport {
  /** One entry per signer rotated, in the order of `SIGNERS`. */
  signers: SignerRotation[];
}

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * `tollgate keys rotate-signing`: rotates the chosen signers' keys now, each through its writer's own stream
 * and sealed table (the private half sealed under the KEK the services run with), with the schedule's rules:
 * the new key is published `leadSeconds` before it signs, the old one stays published until its last token
 * has expired, and the running services retire it then. The stream's expected version keeps a rotation
 * racing a running service (or a second CLI) to one successor.
 */
export async function rotateSigning(
  url: string,
  config: TollgateConfig,
  leadSeconds: number,
  signers: readonly Signer[] = SIGNERS,
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
    const report: RotateSigningReport = { signers: [] };
    for (const signer of SIGNERS.filter((s) => signers.includes(s)))
      report.signers.push(await rotateOne(dataSource, config, sealer, signer, leadSeconds, now));
    return report;
  } finally {
    await dataSource.destroy();
  }
}

async function rotateOne(
  dataSource: DataSource,
  config: TollgateConfig,
  sealer: KeySealer,
  signer: Signer,
  leadSeconds: number,
  now: number,
): Promise<SignerRotation> {
  const { schema, stream, column, writer } = SIGNER_STORES[signer];
  const [installed]: { ok: boolean }[] = await dataSource.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [
    column.table,
  ]);
  if (!installed?.ok)
    throw new CliError(`${column.table} does not exist: start the ${writer} service (or run tollgate migrate) first`);
  const store = new PostgresEventStore({ dataSource, schema, registry: new Registry() });
  const schedule = defaultSigningKeySchedule(config.maxStalenessMs);
  // As the keys service runs it: service-token keys stay published for the longest token the key policy ever
  // allowed (machine users may get up to 24 h); sign-in tokens live the schedule's hour.
  if (signer === 'service')
    schedule.tokenLifetimeMs = Math.max(
      schedule.tokenLifetimeMs,
      (await new KeyPolicyService(store).longestServiceTokenLifetimeEver()) * 1000,
    );
  const service = new SigningKeysService({
    stream,
    name: writer,
    store,
    vault: new SealedSigningKeyVault((text, params) => dataSource.query(text, params), column, sealer),
    schedule,
    clock: () => now,
    logger: silent,
  });
  const previous = activeSigningKey(await service.refresh(), now)?.kid ?? null;
  const result = await service.rotate(leadSeconds * 1000, now);
  const takesOver = result.activatesAt === null ? null : Date.parse(result.activatesAt);
  return {
    signer,
    ...result,
    previousKid: previous,
    previousRetiresAfter:
      previous === null || takesOver === null
        ? null
        : new Date(takesOver + schedule.tokenLifetimeMs + schedule.retirementMarginMs).toISOString(),
  };
}
