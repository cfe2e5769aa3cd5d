import { KEYS_SCHEMA } from '@tollgate/contracts';
import type { DataSource } from 'typeorm';
import { assertLimit, type KeyCreationLimiter, type RateDecision, takeToken } from '../domain/rate-limit';

const TABLE = `"${KEYS_SCHEMA}".rate_buckets`;

/**
 * Token buckets in PostgreSQL, so the limit holds across every replica of the keys service (an in-memory
 * bucket per process would allow N × the limit). One short transaction per key creation: the owner's row is
 * locked, refilled and decremented with the same arithmetic as the in-memory limiter.
 */
export class PostgresRateLimiter implements KeyCreationLimiter {
  constructor(
    private readonly dataSource: DataSource,
    readonly limit: number,
    readonly windowMs = 60_000,
  ) {
    assertLimit(limit);
  }

  async take(owner: string, now: number): Promise<RateDecision> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(
        `INSERT INTO ${TABLE} (owner, tokens, at_ms) VALUES ($1, $2, $3) ON CONFLICT (owner) DO NOTHING`,
        [owner, this.limit, now],
      );
      const [row]: { tokens: number; at_ms: string }[] = await manager.query(
        `SELECT tokens, at_ms FROM ${TABLE} WHERE owner = $1 FOR UPDATE`,
        [owner],
      );
      const { decision, bucket } = takeToken(
        { tokens: Number(row!.tokens), at: Number(row!.at_ms) },
        this.limit,
        this.windowMs,
        now,
      );
      await manager.query(`UPDATE ${TABLE} SET tokens = $2, at_ms = $3 WHERE owner = $1`, [
        owner,
        bucket.tokens,
        bucket.at,
      ]);
      return decision;
    });
  }
}
