import type { KeySealer } from '@tollgate/authn';
import { KEYS_SCHEMA } from '@tollgate/contracts';
import { type SealedColumn, sealRows, type SealedRowsReport } from '@tollgate/database';
import type { DataSource } from 'typeorm';

/** Where the private halves of service-token signing keys live (never in an event, never logged). */
export interface SigningKeyVault {
  put(kid: string, privateKeyPem: string): Promise<void>;
  get(kid: string): Promise<string | undefined>;
  delete(kid: string): Promise<void>;
}

/** The sealed column of the keys service's signing keys (for start-up sealing and `tollgate keys rotate-kek`). */
export const KEYS_SIGNING_KEY_COLUMN: SealedColumn = {
  table: `"${KEYS_SCHEMA}".signing_keys`,
  idColumn: 'kid',
  column: 'private_key_sealed',
  context: (kid) => `keys.signing_keys:${kid}`,
};

/**
 * Private keys sealed under the key-encryption key (AES-256-GCM envelope, `@tollgate/authn` sealing): a row
 * holds no PEM, and is useless without the KEK, which is never in the database.
 */
export class PostgresSigningKeyVault implements SigningKeyVault {
  constructor(
    private readonly dataSource: DataSource,
    private readonly sealer: KeySealer,
  ) {}

  async put(kid: string, privateKeyPem: string): Promise<void> {
    const sealed = this.sealer.seal(privateKeyPem, KEYS_SIGNING_KEY_COLUMN.context(kid));
    await this.dataSource.query(
      `INSERT INTO ${KEYS_SIGNING_KEY_COLUMN.table} (kid, private_key_sealed) VALUES ($1, $2) ON CONFLICT (kid) DO NOTHING`,
      [kid, sealed],
    );
  }

  async get(kid: string): Promise<string | undefined> {
    const rows: { private_key_sealed: string }[] = await this.dataSource.query(
      `SELECT private_key_sealed FROM ${KEYS_SIGNING_KEY_COLUMN.table} WHERE kid = $1`,
      [kid],
    );
    const value = rows[0]?.private_key_sealed;
    return value === undefined ? undefined : this.sealer.open(value, KEYS_SIGNING_KEY_COLUMN.context(kid));
  }

  async delete(kid: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM ${KEYS_SIGNING_KEY_COLUMN.table} WHERE kid = $1`, [kid]);
  }

  /** Seals rows written before sealing existed, and re-wraps rows under a previous KEK. Run at start. */
  sealAll(): Promise<SealedRowsReport> {
    return sealRows((text, params) => this.dataSource.query(text, params), KEYS_SIGNING_KEY_COLUMN, this.sealer);
  }
}

export class InMemorySigningKeyVault implements SigningKeyVault {
  readonly keys = new Map<string, string>();
  async put(kid: string, privateKeyPem: string): Promise<void> {
    if (!this.keys.has(kid)) this.keys.set(kid, privateKeyPem);
  }
  async get(kid: string): Promise<string | undefined> {
    return this.keys.get(kid);
  }
  async delete(kid: string): Promise<void> {
    this.keys.delete(kid);
  }
}
