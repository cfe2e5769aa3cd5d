import type { KeySealer } from '@tollgate/authn';
import { IDENTITY_SCHEMA } from '@tollgate/contracts';
import { type SealedColumn, sealRows, type SealedRowsReport } from '@tollgate/database';
import type { Sql } from './sql';

export interface StoredSigningKey {
  kid: string;
  privateKeyPem: string;
  publicJwk: Record<string, unknown>;
  activatesAt: Date;
}

/** The sealed column of the sign-in signing key (for start-up sealing and `tollgate keys rotate-kek`). */
export const IDENTITY_SIGNING_KEY_COLUMN: SealedColumn = {
  table: `"${IDENTITY_SCHEMA}".signing_keys`,
  idColumn: 'kid',
  column: 'private_key_sealed',
  context: (kid) => `identity.signing_keys:${kid}`,
};

/**
 * The identity service's Ed25519 signing key for sign-in tokens. The private key lives only here, sealed
 * under the key-encryption key (never in an event, never in a log, never in plaintext in a row); the public
 * JWK is published as a `SigningKeyPublished` event. One row per slot (`current`): the first replica to
 * start creates it, the others load it.
 */
export class SigningKeyStore {
  constructor(
    private readonly sql: Sql,
    private readonly sealer: KeySealer,
  ) {}

  async current(): Promise<StoredSigningKey | undefined> {
    const { rows } = await this.sql.query<{
      kid: string;
      private_key_sealed: string;
      public_jwk: Record<string, unknown>;
      activates_at: Date;
    }>(`SELECT kid, private_key_sealed, public_jwk, activates_at FROM signing_keys WHERE slot = 'current'`);
    const row = rows[0];
    return (
      row && {
        kid: row.kid,
        privateKeyPem: this.sealer.open(row.private_key_sealed, IDENTITY_SIGNING_KEY_COLUMN.context(row.kid)),
        publicJwk: row.public_jwk,
        activatesAt: row.activates_at,
      }
    );
  }

  /** Stores `key` as the current key unless another replica did first; returns the key that won. */
  async createIfAbsent(key: StoredSigningKey): Promise<StoredSigningKey> {
    await this.sql.query(
      `INSERT INTO signing_keys (slot, kid, private_key_sealed, public_jwk, activates_at)
       VALUES ('current', $1, $2, $3::jsonb, $4) ON CONFLICT (slot) DO NOTHING`,
      [
        key.kid,
        this.sealer.seal(key.privateKeyPem, IDENTITY_SIGNING_KEY_COLUMN.context(key.kid)),
        JSON.stringify(key.publicJwk),
        key.activatesAt,
      ],
    );
    return (await this.current())!;
  }

  /** Seals rows written before sealing existed, and re-wraps rows under a previous KEK. Run at start. */
  sealAll(): Promise<SealedRowsReport> {
    return sealRows(
      async (text, params) => (await this.sql.query(text, params)).rows,
      IDENTITY_SIGNING_KEY_COLUMN,
      this.sealer,
    );
  }
}
