import type { KeySealer } from '@tollgate/authn';
import { type QueryFn, type SealedColumn, sealRows, type SealedRowsReport } from '@tollgate/database';

/** Where the private halves of signing keys live (never in an event, never logged), one row per kid. */
export interface SigningKeyVault {
  put(kid: string, privateKeyPem: string): Promise<void>;
  get(kid: string): Promise<string | undefined>;
  delete(kid: string): Promise<void>;
}

/**
 * Private keys sealed under the key-encryption key (AES-256-GCM envelope, `@tollgate/authn` sealing) in one
 * service's table (`column`: the keys service's `keys.signing_keys`, the identity service's
 * `identity.signing_keys`; both have `kid` as primary key). A row holds no PEM, and is useless without the
 * KEK, which is never in the database. The same `column` is what start-up sealing and `tollgate keys
 * rotate-kek` re-wrap.
 */
export class SealedSigningKeyVault implements SigningKeyVault {
  constructor(
    private readonly query: QueryFn,
    private readonly column: SealedColumn,
    private readonly sealer: KeySealer,
  ) {}

  async put(kid: string, privateKeyPem: string): Promise<void> {
    const { table, idColumn, column, context } = this.column;
    await this.query(
      `INSERT INTO ${table} (${idColumn}, ${column}) VALUES ($1, $2) ON CONFLICT (${idColumn}) DO NOTHING`,
      [kid, this.sealer.seal(privateKeyPem, context(kid))],
    );
  }

  async get(kid: string): Promise<string | undefined> {
    const { table, idColumn, column, context } = this.column;
    const rows = await this.query(`SELECT ${column} AS value FROM ${table} WHERE ${idColumn} = $1`, [kid]);
    const value = rows[0]?.value;
    return typeof value === 'string' ? this.sealer.open(value, context(kid)) : undefined;
  }

  async delete(kid: string): Promise<void> {
    await this.query(`DELETE FROM ${this.column.table} WHERE ${this.column.idColumn} = $1`, [kid]);
  }

  /** Seals rows written before sealing existed, and re-wraps rows under a previous KEK. Run at start. */
  sealAll(): Promise<SealedRowsReport> {
    return sealRows(this.query, this.column, this.sealer);
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
