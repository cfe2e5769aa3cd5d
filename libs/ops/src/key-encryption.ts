import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type KeyEncryptionKey, KeySealer, parseKeyEncryptionKey, SealingError } from '@tollgate/authn';
import type { TollgateConfig } from '@tollgate/config';
import { createDataSource, sealRows, type SealedRowsReport } from '@tollgate/database';
import { IDENTITY_SIGNING_KEY_COLUMN } from '@tollgate/identity';
import { KEYS_SIGNING_KEY_COLUMN } from '@tollgate/keys';
import { DATA_DIR_KEK_FILE } from '@tollgate/platform';
import { CliError, unreachableError, usageError } from './cli-errors';

/** Every column holding sealed private keys, by a name for the report. */
export const SEALED_COLUMNS = [
  { name: 'keys.signing_keys', column: KEYS_SIGNING_KEY_COLUMN },
  { name: 'identity.signing_keys', column: IDENTITY_SIGNING_KEY_COLUMN },
] as const;

export interface RotateKekReport {
  from: string;
  to: string;
  tables: Record<string, SealedRowsReport>;
  /** Embedded mode: the data directory's KEK file now holds the new key. */
  replacedFile?: string;
}

/**
 * The KEK the product runs with: `TOLLGATE_KEY_ENCRYPTION_KEY` (or `_FILE`), or in embedded mode the data
 * directory's file. None: a usage error saying what to set.
 */
export function currentKek(config: TollgateConfig): KeyEncryptionKey {
  if (config.keyEncryptionKey) return config.keyEncryptionKey;
  if (config.databaseUrl === undefined) {
    try {
      return parseKeyEncryptionKey(readFileSync(join(config.dataDir, DATA_DIR_KEK_FILE), 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new CliError(`${DATA_DIR_KEK_FILE}: ${(err as Error).message}`);
    }
  }
  throw usageError('set TOLLGATE_KEY_ENCRYPTION_KEY (or _FILE) to the key-encryption key the services run with');
}

function readNewKek(path: string): KeyEncryptionKey {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw usageError(`--new-key-file: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  try {
    return parseKeyEncryptionKey(text);
  } catch (err) {
    if (err instanceof SealingError) throw usageError(`--new-key-file: ${err.message}`);
    throw err;
  }
}

/**
 * `tollgate keys rotate-kek`: re-wraps every sealed private key (and seals any plaintext left from before
 * sealing) under the new KEK. Only the per-key data keys are re-encrypted. Values under the current or the
 * new KEK are both accepted, so a second run after the services restarted with the new KEK re-wraps any
 * key they wrote in between; a run changes nothing once every row is under the new KEK.
 */
export async function rotateKek(url: string, config: TollgateConfig, newKeyFile: string): Promise<RotateKekReport> {
  const from = currentKek(config);
  const to = readNewKek(newKeyFile);
  const sealer = new KeySealer(to, [from]);
  const dataSource = createDataSource({ url, migrations: [], name: 'tollgate-ops-kek', poolSize: 2 });
  try {
    await dataSource.initialize();
  } catch (err) {
    throw unreachableError(`cannot reach PostgreSQL: ${(err as Error).message}`);
  }
  const tables: Record<string, SealedRowsReport> = {};
  try {
    for (const { name, column } of SEALED_COLUMNS) {
      tables[name] = await sealRows((text, params) => dataSource.query(text, params), column, sealer);
    }
  } finally {
    await dataSource.destroy();
  }
  const report: RotateKekReport = { from: from.id, to: to.id, tables };
  if (config.databaseUrl === undefined && !config.keyEncryptionKey) {
    // Embedded mode reads its KEK from the data directory: the next start must use the new one.
    const path = join(config.dataDir, DATA_DIR_KEK_FILE);
    writeFileSync(`${path}.new`, `${to.key.toString('base64')}\n`, { mode: 0o600 });
    renameSync(`${path}.new`, path);
    report.replacedFile = path;
  }
  return report;
}
