import { KEYS_SCHEMA } from '@tollgate/contracts';
import { IdempotencyKeyReusedError } from '@tollgate/event-store';
import type { DataSource } from 'typeorm';

/** The stored first response of an idempotent `POST /v1/tokens` (without its token). */
export type StoredTokenResponse = Record<string, unknown>;

/**
 * Idempotency of token requests (a token is not an event, so the event store's idempotency does not apply).
 * `remember` returns the response already stored for (scope, key) if a concurrent request won; a different
 * fingerprint throws `IdempotencyKeyReusedError`. Entries live 24 h.
 */
export interface TokenRequestStore {
  lookup(scope: string, key: string, fingerprint: string): Promise<StoredTokenResponse | undefined>;
  remember(
    scope: string,
    key: string,
    fingerprint: string,
    response: StoredTokenResponse,
  ): Promise<StoredTokenResponse | undefined>;
}

const TTL = `interval '24 hours'`;

export class PostgresTokenRequestStore implements TokenRequestStore {
  constructor(private readonly dataSource: DataSource) {}

  async lookup(scope: string, key: string, fingerprint: string): Promise<StoredTokenResponse | undefined> {
    const rows: { fingerprint: string; response: StoredTokenResponse }[] = await this.dataSource.query(
      `SELECT fingerprint, response FROM "${KEYS_SCHEMA}".token_requests
       WHERE scope = $1 AND key = $2 AND created_at >= now() - ${TTL}`,
      [scope, key],
    );
    const row = rows[0];
    if (!row) return undefined;
    if (row.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError(key);
    return row.response;
  }

  async remember(
    scope: string,
    key: string,
    fingerprint: string,
    response: StoredTokenResponse,
  ): Promise<StoredTokenResponse | undefined> {
    const inserted: unknown[] = await this.dataSource.query(
      `INSERT INTO "${KEYS_SCHEMA}".token_requests AS t (scope, key, fingerprint, response) VALUES ($1, $2, $3, $4::jsonb)
       ON CONFLICT (scope, key) DO UPDATE
         SET fingerprint = EXCLUDED.fingerprint, response = EXCLUDED.response, created_at = now()
         WHERE t.created_at < now() - ${TTL}
       RETURNING 1`,
      [scope, key, fingerprint, JSON.stringify(response)],
    );
    if (inserted.length > 0) {
      void this.dataSource
        .query(`DELETE FROM "${KEYS_SCHEMA}".token_requests WHERE created_at < now() - ${TTL}`)
        .catch(() => undefined);
      return undefined;
    }
    return this.lookup(scope, key, fingerprint);
  }
}

export class InMemoryTokenRequestStore implements TokenRequestStore {
  private readonly entries = new Map<string, { fingerprint: string; response: StoredTokenResponse; at: number }>();
  constructor(private readonly now: () => number = Date.now) {}

  async lookup(scope: string, key: string, fingerprint: string): Promise<StoredTokenResponse | undefined> {
    const entry = this.entries.get(`${scope}\0${key}`);
    if (!entry || this.now() - entry.at > 86_400_000) return undefined;
    if (entry.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError(key);
    return entry.response;
  }

  async remember(
    scope: string,
    key: string,
    fingerprint: string,
    response: StoredTokenResponse,
  ): Promise<StoredTokenResponse | undefined> {
    const existing = await this.lookup(scope, key, fingerprint);
    if (existing) return existing;
    this.entries.set(`${scope}\0${key}`, { fingerprint, response, at: this.now() });
    return undefined;
  }
}
