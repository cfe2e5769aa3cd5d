import type { Sql } from './sql';

/** How long a `webhook-id` is remembered (CONTRACT section 3: a repeat within 24 h has no second effect). */
export const WEBHOOK_ID_RETENTION_HOURS = 24;

/** Webhook ids seen per connector, persisted so a replay is refused across restarts and replicas. */
export class WebhookDeliveries {
  private lastPurge = 0;

  /**
   * @param leaseMs how long a claim holds before a retry may take it over (default 10 s: processing a
   *   delivery takes milliseconds; a claim that old belongs to a request that died).
   */
  constructor(
    private readonly sql: Sql,
    private readonly leaseMs = 10_000,
  ) {}

  /**
   * Claims the delivery for processing. `new`: process it, then `done` (or `forget` on failure). `done`: a
   * duplicate within the retention. `in-progress`: another request is processing it right now (answer
   * "retry later"). A claim older than the lease whose processing never finished (its process died between
   * the claim and `done`) is taken over: without that, the sender's retry of a delivery that was never
   * applied would be answered as a duplicate and its change lost (the fault suite found exactly that: a
   * group removal acknowledged as a duplicate after the identity process was killed mid-request).
   */
  async claim(idp: string, webhookId: string): Promise<'new' | 'done' | 'in-progress'> {
    this.maybePurge();
    const { rowCount } = await this.sql.query(
      `INSERT INTO webhook_deliveries AS d (idp, webhook_id, done) VALUES ($1, $2, false)
       ON CONFLICT (idp, webhook_id) DO UPDATE SET received_at = now(), done = false
         WHERE d.received_at < now() - make_interval(hours => $3)
            OR (NOT d.done AND d.received_at < now() - make_interval(secs => $4))
       RETURNING webhook_id`,
      [idp, webhookId, WEBHOOK_ID_RETENTION_HOURS, this.leaseMs / 1000],
    );
    if (rowCount === 1) return 'new';
    const { rows } = await this.sql.query<{ done: boolean }>(
      `SELECT done FROM webhook_deliveries WHERE idp = $1 AND webhook_id = $2`,
      [idp, webhookId],
    );
    // Gone in between (forgotten after a failure): the sender's next retry claims it.
    return rows[0]?.done === false || rows.length === 0 ? 'in-progress' : 'done';
  }

  /** The delivery was applied: a repeat within the retention is a duplicate from now on. */
  async done(idp: string, webhookId: string): Promise<void> {
    await this.sql.query(`UPDATE webhook_deliveries SET done = true WHERE idp = $1 AND webhook_id = $2`, [
      idp,
      webhookId,
    ]);
  }

  /** Forgets a delivery whose processing failed, so the IdP's retry is processed. */
  async forget(idp: string, webhookId: string): Promise<void> {
    await this.sql.query(`DELETE FROM webhook_deliveries WHERE idp = $1 AND webhook_id = $2`, [idp, webhookId]);
  }

  private maybePurge(): void {
    const now = Date.now();
    if (now - this.lastPurge < 10 * 60_000) return;
    this.lastPurge = now;
    this.sql
      .query(`DELETE FROM webhook_deliveries WHERE received_at < now() - make_interval(hours => $1)`, [
        WEBHOOK_ID_RETENTION_HOURS,
      ])
      .catch(() => undefined);
  }
}
