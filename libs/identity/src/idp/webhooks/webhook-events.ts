import { z } from 'zod';
import { MAX_GROUP_NAME_LENGTH, MAX_GROUPS_PER_USER } from '../../domain/actor';

/**
 * The webhook event types an IdP may send (CONTRACT section 3): `{ type, timestamp, data }`; `subject` is
 * the IdP's `sub`, `group` a group name (exact). Extra fields in `data` are ignored (forward compatible).
 */
const subject = z.string().min(1).max(255);
const group = z.string().min(1).max(MAX_GROUP_NAME_LENGTH);

export const WEBHOOK_EVENT_SCHEMAS = {
  'user.groups.changed': z.object({ subject, groups: z.array(group).max(MAX_GROUPS_PER_USER) }),
  'group.member.added': z.object({ group, subject }),
  'group.member.removed': z.object({ group, subject }),
  'group.deleted': z.object({ group }),
  'user.deactivated': z.object({ subject }),
} as const;

export type WebhookEventType = keyof typeof WEBHOOK_EVENT_SCHEMAS;
export type WebhookEvent = {
  [T in WebhookEventType]: { type: T; data: z.infer<(typeof WEBHOOK_EVENT_SCHEMAS)[T]> };
}[WebhookEventType];

export const isWebhookEventType = (type: string): type is WebhookEventType =>
  Object.hasOwn(WEBHOOK_EVENT_SCHEMAS, type);
