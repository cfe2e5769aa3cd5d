import { KEYS_SCHEMA } from '@tollgate/contracts';
import type { DataSource } from 'typeorm';

/** Where the private halves of service-token signing keys live (never in an event, never logged). */
export interface SigningKeyVault {
  put(kid: string, privateKeyPem: string): Promise<void>;
  get(kid: string): Promise<string | undefined>;
  delete(kid: string): Promise<void>;
}

export class PostgresSigningKeyVault implements SigningKeyVault {
  constructor(private readonly dataSource: DataSource) {}

  async put(kid: string, privateKeyPem: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO "${KEYS_SCHEMA}".signing_keys (kid, private_key_pem) VALUES ($1, $2) ON CONFLICT (kid) DO NOTHING`,
      [kid, privateKeyPem],
    );
  }

  async get(kid: string): Promise<string | undefined> {
    const rows: { private_key_pem: string }[] = await this.dataSource.query(
      `SELECT private_key_pem FROM "${KEYS_SCHEMA}".signing_keys WHERE kid = $1`,
      [kid],
    );
    return rows[0]?.private_key_pem;
  }

  async delete(kid: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM "${KEYS_SCHEMA}".signing_keys WHERE kid = $1`, [kid]);
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
