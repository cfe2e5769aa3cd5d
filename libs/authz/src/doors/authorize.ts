import { parseWith } from '@tollgate/platform';
import { z } from 'zod';
import type { CheckInput } from '../types';
import { pathOfUri } from './uri';

/**
 * `POST /v1/authorize` body (CONTRACT.md section 2). `authorization` is the whole `Authorization` header
 * value as the client sent it. Unknown fields, wrong types, or neither `deployment` nor `host`: 400.
 */
export const authorizeRequestSchema = z
  .strictObject({
    deployment: z.string().min(1).max(256).nullish(),
    host: z.string().min(1).max(1024).nullish(),
    path: z.string().max(8192).nullish(),
    authorization: z
      .string()
      .max(64 * 1024)
      .nullish(),
    accessKey: z
      .string()
      .max(64 * 1024)
      .nullish(),
    method: z.string().max(32).nullish(),
  })
  .refine((body) => (body.deployment ?? body.host) != null, {
    message: 'one of deployment or host is required',
    path: ['deployment'],
  });

export type AuthorizeRequest = z.infer<typeof authorizeRequestSchema>;

export const authorizeExample = {
  host: 'models.example.com',
  path: '/v1/chat/completions',
  authorization: 'Bearer tgi_…',
};

/** Validates the body (400 `validation-failed` naming the fields) and turns it into a check input. */
export function authorizeInput(body: unknown, explain: boolean): CheckInput {
  const request = parseWith(authorizeRequestSchema, body);
  const input: CheckInput = { explain };
  if (request.deployment != null) input.deployment = request.deployment;
  if (request.host != null) input.host = request.host;
  const path = pathOfUri(request.path ?? undefined);
  if (path !== undefined) input.path = path;
  if (request.authorization != null) input.authorization = request.authorization;
  if (request.accessKey != null) input.accessKey = request.accessKey;
  if (request.method != null) input.method = request.method;
  return input;
}

/** `?explain=true` (or `1`); anything else is false. */
export function explainRequested(query: unknown): boolean {
  const value = (query as { explain?: unknown } | undefined)?.explain;
  return value === 'true' || value === '1' || value === '';
}
