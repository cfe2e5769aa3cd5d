import { ApiError } from '@tollgate/contracts';
import { parseJsonBody, parseWith } from '@tollgate/platform';
import { type CommandContext, idpActor } from '../../application/command-context';
import type { UsersService } from '../../application/users.service';
import type { WebhookDeliveries } from '../../storage/webhook-deliveries';
import type { ConnectorRegistry } from '../connectors';
import { webhookBody } from '../../http/schemas';
import { verifyWebhook, type WebhookHeaders } from './signature';
import { isWebhookEventType, WEBHOOK_EVENT_SCHEMAS, type WebhookEvent } from './webhook-events';

export type WebhookAnswer = { accepted: true } | { duplicate: true } | { ignored: true };

/**
 * `POST /v1/idp/{idp}/webhooks`: a Standard Webhooks delivery, verified on its raw bytes, applied once per
 * `webhook-id` (remembered 24 h, across restarts and replicas). Its groups count as refreshed at its
 * `webhook-timestamp`.
 */
export class WebhookService {
  constructor(
    private readonly connectors: ConnectorRegistry,
    private readonly users: UsersService,
    private readonly deliveries: WebhookDeliveries,
    private readonly now: () => number = Date.now,
  ) {}

  async receive(idp: string, headers: WebhookHeaders, rawBody: Buffer, requestId: string): Promise<WebhookAnswer> {
    const connector = this.connectors.get(idp);
    if (!connector || connector.webhookKeys.length === 0) {
      throw new ApiError('not-found', `no IdP connector ${JSON.stringify(idp)} with webhook secrets`);
    }
    const verified = verifyWebhook({ headers, body: rawBody, keys: connector.webhookKeys, now: this.now() });
    if (!verified.ok) throw new ApiError(verified.code, verified.message);

    // Parsed only now, after the signature over the exact bytes held, under the one request policy.
    const envelope = parseWith(webhookBody, parseJsonBody(rawBody.toString('utf8')));
    if (!isWebhookEventType(envelope.type)) return { ignored: true };
    const event = {
      type: envelope.type,
      data: parseWith(WEBHOOK_EVENT_SCHEMAS[envelope.type], envelope.data, 'data'),
    } as WebhookEvent;

    const claim = await this.deliveries.claim(idp, verified.id);
    if (claim === 'done') return { duplicate: true };
    if (claim === 'in-progress') {
      // Another request is applying this delivery now: the sender retries (Standard Webhooks retry non-2xx).
      throw new ApiError('unavailable', 'this webhook-id is being processed; retry shortly', undefined, {
        'Retry-After': '1',
      });
    }
    let answer: WebhookAnswer;
    try {
      const context: CommandContext = {
        actor: idpActor(idp),
        channel: 'webhook',
        idp,
        requestId,
        causationId: verified.id,
      };
      answer = await this.apply(context, idp, event, new Date(verified.timestamp * 1000).toISOString());
    } catch (error) {
      // Not applied: let the IdP's retry of this id be processed.
      await this.deliveries.forget(idp, verified.id).catch(() => undefined);
      throw error;
    }
    // Applied. If marking it fails (or the process dies first), the claim's lease runs out and a retry is
    // applied again: every webhook change is idempotent (a set replaced by the same set, a group added or
    // removed again, a deactivation repeated), so at-least-once costs nothing; losing the change would.
    await this.deliveries.done(idp, verified.id);
    return answer;
  }

  private async apply(context: CommandContext, idp: string, event: WebhookEvent, at: string): Promise<WebhookAnswer> {
    if (event.type === 'group.deleted') {
      await this.users.rewriteGroup(context, idp, event.data.group, null, { at, refresh: true });
      return { accepted: true };
    }
    const user = await this.users.linkedUser(idp, event.data.subject);
    if (!user) return { ignored: true };
    switch (event.type) {
      case 'user.groups.changed':
        await this.users.userCommand(context, user.userId, {
          type: 'ReplaceGroups',
          groups: event.data.groups,
          refreshedAt: at,
        });
        break;
      case 'group.member.added':
        await this.users.userCommand(context, user.userId, {
          type: 'EditGroups',
          add: [event.data.group],
          remove: [],
          at,
          refresh: true,
        });
        break;
      case 'group.member.removed':
        await this.users.userCommand(context, user.userId, {
          type: 'EditGroups',
          add: [],
          remove: [event.data.group],
          at,
          refresh: true,
        });
        break;
      case 'user.deactivated':
        await this.users.userCommand(context, user.userId, {
          type: 'DeactivateUser',
          at: new Date(this.now()).toISOString(),
        });
        break;
    }
    return { accepted: true };
  }
}
