import type { IncomingHttpHeaders } from 'node:http';
import type { CheckInput, DecisionHeaders, DoorDecision } from '../types';
import { firstListValue, pathOfUri } from './uri';

/**
 * `GET /v1/forward-auth` (nginx `auth_request`, Traefik ForwardAuth): the credentials from `Authorization`
 * and `X-Model-Access-Key`, the original host from `X-Forwarded-Host` (else `Host`) and the original URI
 * from `X-Original-URI` (else `X-Forwarded-Uri`), without its query string.
 *
 * `rawHeaders` lets a repeated `Authorization` header be seen (Node keeps only the first in `headers`);
 * two `Authorization` headers are `credential-malformed`, never "the first one wins".
 */
export function forwardAuthInput(headers: IncomingHttpHeaders, rawHeaders?: readonly string[]): CheckInput {
  const input: CheckInput = {};
  const authorization = repeatedAuthorization(rawHeaders) ?? headers.authorization;
  if (authorization !== undefined) input.authorization = authorization;
  const accessKey = headers['x-model-access-key'];
  if (accessKey !== undefined) input.accessKey = accessKey;
  const host = firstListValue(headers['x-forwarded-host']) ?? firstListValue(headers.host);
  if (host !== undefined) input.host = host;
  const uri = headerValue(headers['x-original-uri']) ?? headerValue(headers['x-forwarded-uri']);
  input.path = pathOfUri(uri) ?? '/';
  const method = headerValue(headers['x-original-method']) ?? headerValue(headers['x-forwarded-method']);
  if (method !== undefined) input.method = method;
  return input;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v === undefined || v.trim() === '' ? undefined : v;
}

function repeatedAuthorization(rawHeaders: readonly string[] | undefined): string[] | undefined {
  if (rawHeaders === undefined) return undefined;
  let values: string[] | undefined;
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 13 && name.toLowerCase() === 'authorization') {
      count += 1;
      (values ??= []).push(rawHeaders[i + 1] ?? '');
    }
  }
  return count > 1 ? values : undefined;
}

export interface ForwardAuthResponse {
  status: number;
  headers: DecisionHeaders;
  body: { allowed: boolean; status: number; reason: string; message: string };
}

/**
 * The decision as forward-auth answers it: its status and headers, body `{ allowed, status, reason,
 * message }`. An unknown deployment is 403 here (nginx and Traefik pass 401/403 on, and a proxy must not
 * reveal which hosts exist); its reason stays `deployment-unknown`.
 */
export function forwardAuthResponse(
  decision: DoorDecision,
  headers: DecisionHeaders,
  message: string,
): ForwardAuthResponse {
  const status = decision.status === 404 ? 403 : decision.status;
  return { status, headers, body: { allowed: decision.allowed, status, reason: decision.reason, message } };
}
