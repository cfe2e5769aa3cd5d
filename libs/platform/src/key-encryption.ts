import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyEncryptionKey, type KeyEncryptionKey, KeySealer, parseKeyEncryptionKey } from '@tollgate/authn';
import { ConfigError } from '@tollgate/config';
import type { Logger } from 'pino';

/** The embedded mode's key-encryption key, in the data directory. */
export const DATA_DIR_KEK_FILE = 'key-encryption-key';

/**
 * Embedded mode without `TOLLGATE_KEY_ENCRYPTION_KEY`: the KEK kept in the data directory (created on the
 * first start, mode 0600, and said so in the log). Back it up with the data directory's database, but keep
 * the copies apart: a dump alone then mints nothing.
 */
export function dataDirKeyEncryptionKey(dataDir: string, logger: Pick<Logger, 'info' | 'warn'>): KeyEncryptionKey {
  const path = join(dataDir, DATA_DIR_KEK_FILE);
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text === undefined) {
    mkdirSync(dataDir, { recursive: true });
    try {
      // `wx`: never overwrite a key another process wrote a moment ago; its key wins.
      writeFileSync(path, `${generateKeyEncryptionKey()}\n`, { mode: 0o600, flag: 'wx' });
      logger.warn(
        { path },
        'generated a key-encryption key for the signing keys at rest (embedded mode); keep it, apart from database backups',
      );
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    text = readFileSync(path, 'utf8');
  }
  chmodSync(path, 0o600);
  try {
    return parseKeyEncryptionKey(text);
  } catch (err) {
    throw new ConfigError(`${path}: ${(err as Error).message}`);
  }
}

/**
 * The sealer of a service holding private signing keys (keys, identity). Deployed mode without a KEK refuses
 * to start: a generated key would be lost with the container, and plaintext keys in the database would let
 * anyone with read access mint admin tokens.
 */
export function keySealerOf(context: { keyEncryptionKey?: KeyEncryptionKey }): KeySealer {
  if (context.keyEncryptionKey === undefined) {
    throw new ConfigError(
      'environment: TOLLGATE_KEY_ENCRYPTION_KEY: required when DATABASE_URL is set: the keys and identity services ' +
        'seal their signing keys with it (32 random bytes, e.g. `openssl rand -base64 32`; or a file in ' +
        'TOLLGATE_KEY_ENCRYPTION_KEY_FILE). Give every keys and identity replica the same one.',
    );
  }
  return new KeySealer(context.keyEncryptionKey);
}
