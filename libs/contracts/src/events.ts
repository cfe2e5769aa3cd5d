import { z } from 'zod';
import { identityEventSchemas, type IdentityEvent } from './identity-events';
import { keyEventSchemas, type KeyEvent } from './key-events';
import { opsEventSchemas, type OpsEvent } from './ops-events';

/** Every event type of the writers' logs: the writers' own, and the operators' (`EventWaived`) in either store. */
export type DomainEvent = KeyEvent | IdentityEvent | OpsEvent;
export type DomainEventType = DomainEvent['type'];

const schemas: Record<string, z.ZodType> = { ...keyEventSchemas, ...identityEventSchemas, ...opsEventSchemas };

export const isKnownEventType = (type: string): type is DomainEventType => Object.hasOwn(schemas, type);

/**
 * Validates an event read from the log. An unknown type or bad data throws: a projection treats that as a
 * poison event and halts (fails closed) instead of skipping it.
 */
export function parseDomainEvent(type: string, data: unknown): DomainEvent {
  const schema = schemas[type];
  if (!schema) throw new Error(`unknown event type ${JSON.stringify(type)}`);
  return { type, data: schema.parse(data) } as DomainEvent;
}
