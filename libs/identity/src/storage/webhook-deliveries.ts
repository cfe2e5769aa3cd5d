import type { Sql } from './sql';

/** How long a `webhook-id` is remembered (CONTRACT section 3: a repeat within 24 h has no second effect). */
export const WEBHOOK_ID_RETENTION_HOURS = 24;

/** Webhook ids seen per connector, persisted so a replay is refused across restarts and replicas. */
export class WebhookDeliveries {
  private lastPurge = 0;

  constructor(private readonly sql: Sql) {}

  /**
   * Records the delivery; false when this id was already seen within the retention (a duplicate). An older
   * row is taken over (the id counts as new again).
   */
  async firstSeen(idp: string, webhookId: string): Promise<boolean> {
    this.maybePurge();
    const { rowCount } = await this.sql.query(
      `INSERT INTO webhook_deliveries AS d (idp, webhook_id) VALUES ($1, $2)
       ON CONFLICT (idp, webhook_id) DO UPDATE SET received_at = now()
         WHERE d.received_at < now() - make_interval(hours => $3)
       RETURNING webhook_id`,
      [idp, webhookId, WEBHOOK_ID_RETENTION_HOURS],
    );
    return rowCount === 1;
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
