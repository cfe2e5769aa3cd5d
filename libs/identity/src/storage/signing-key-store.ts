import type { Sql } from './sql';

export interface StoredSigningKey {
  kid: string;
  privateKeyPem: string;
  publicJwk: Record<string, unknown>;
  activatesAt: Date;
}

/**
 * The identity service's Ed25519 signing key for sign-in tokens. The private key lives only here (never in
 * an event, never in a log); the public JWK is published as a `SigningKeyPublished` event. One row per
 * slot (`current`): the first replica to start creates it, the others load it.
 */
export class SigningKeyStore {
  constructor(private readonly sql: Sql) {}

  async current(): Promise<StoredSigningKey | undefined> {
    const { rows } = await this.sql.query<{
      kid: string;
      private_key_pem: string;
      public_jwk: Record<string, unknown>;
      activates_at: Date;
    }>(`SELECT kid, private_key_pem, public_jwk, activates_at FROM signing_keys WHERE slot = 'current'`);
    const row = rows[0];
    return (
      row && {
        kid: row.kid,
        privateKeyPem: row.private_key_pem,
        publicJwk: row.public_jwk,
        activatesAt: row.activates_at,
      }
    );
  }

  /** Stores `key` as the current key unless another replica did first; returns the key that won. */
  async createIfAbsent(key: StoredSigningKey): Promise<StoredSigningKey> {
    await this.sql.query(
      `INSERT INTO signing_keys (slot, kid, private_key_pem, public_jwk, activates_at)
       VALUES ('current', $1, $2, $3::jsonb, $4) ON CONFLICT (slot) DO NOTHING`,
      [key.kid, key.privateKeyPem, JSON.stringify(key.publicJwk), key.activatesAt],
    );
    return (await this.current())!;
  }
}
