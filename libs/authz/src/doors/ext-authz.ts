import type { CheckInput, DecisionHeaders, DoorDecision } from '../types';
import { pathOfUri } from './uri';

/**
 * Envoy ext_authz (`envoy.service.auth.v3.Authorization/Check`), mapped to and from the check. Messages are
 * Envoy's own (deploy/envoy/proto, loaded with `keepCase`): snake_case field names, Envoy's field numbers.
 */

/** `config.core.v3.HeaderValue`. */
export interface HeaderValue {
  key: string;
  value?: string;
  raw_value?: Uint8Array;
}

/** `service.auth.v3.AttributeContext.HttpRequest`, the part the check reads. */
export interface HttpRequestAttributes {
  id?: string;
  method?: string;
  /** Lower-case header names; Envoy joins repeated headers with `,`. */
  headers?: Record<string, string>;
  /** Sent instead of `headers` when Envoy is configured with `encode_raw_headers`. */
  header_map?: { headers?: HeaderValue[] };
  /** The request target: path and query string. */
  path?: string;
  /** The `:authority`. */
  host?: string;
}

export interface CheckRequest {
  attributes?: { request?: { http?: HttpRequestAttributes } };
}

/** `config.core.v3.HeaderValueOption.HeaderAppendAction`. */
export const OVERWRITE_IF_EXISTS_OR_ADD = 2;

export interface HeaderValueOption {
  header: { key: string; value: string };
  append_action: number;
}

/** `service.auth.v3.CheckResponse`: exactly one of `ok_response` and `denied_response`. */
export interface CheckResponse {
  status: { code: number; message: string };
  ok_response?: { headers: HeaderValueOption[]; headers_to_remove: string[] };
  denied_response?: { status: { code: number }; headers: HeaderValueOption[]; body: string };
}

/** google.rpc.Code values used in `CheckResponse.status`. */
export const RpcCode = {
  OK: 0,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** The `CheckResponse.status` code for a decision's HTTP status (any non-zero code denies). */
export function rpcCodeOf(status: number): number {
  switch (status) {
    case 200:
      return RpcCode.OK;
    case 401:
      return RpcCode.UNAUTHENTICATED;
    case 404:
      return RpcCode.NOT_FOUND;
    case 503:
      return RpcCode.UNAVAILABLE;
    default:
      return RpcCode.PERMISSION_DENIED;
  }
}

/** Headers an allowed response sets upstream; any of them the client sent itself is removed when not set. */
export const IDENTITY_HEADERS = ['x-auth-subject', 'x-auth-deployment', 'x-auth-key-id', 'x-auth-issuer'] as const;

/** Lower-case request headers of the check, from `headers` or, failing that, `header_map`. */
export function requestHeaders(http: HttpRequestAttributes): Record<string, string | string[]> {
  if (http.headers && Object.keys(http.headers).length > 0) return http.headers;
  const out: Record<string, string | string[]> = {};
  for (const h of http.header_map?.headers ?? []) {
    const key = h.key.toLowerCase();
    const value =
      h.value !== undefined && h.value !== ''
        ? h.value
        : h.raw_value
          ? Buffer.from(h.raw_value).toString('latin1')
          : '';
    const prior = out[key];
    out[key] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  return out;
}

/** Host and path from the request's HTTP attributes; the credentials from its (lower-case) headers. */
export function extAuthzInput(request: CheckRequest): CheckInput {
  const http = request.attributes?.request?.http ?? {};
  const headers = requestHeaders(http);
  const input: CheckInput = {};
  const authorization = headers.authorization;
  if (authorization !== undefined) input.authorization = authorization;
  const accessKey = headers['x-model-access-key'];
  if (accessKey !== undefined) input.accessKey = accessKey;
  const host =
    http.host ||
    (typeof headers[':authority'] === 'string' ? headers[':authority'] : undefined) ||
    (typeof headers.host === 'string' ? headers.host : undefined);
  if (host) input.host = host;
  input.path = pathOfUri(http.path || (typeof headers[':path'] === 'string' ? headers[':path'] : undefined)) ?? '/';
  if (http.method) input.method = http.method;
  return input;
}

const option = (key: string, value: string): HeaderValueOption => ({
  header: { key, value },
  append_action: OVERWRITE_IF_EXISTS_OR_ADD,
});

/**
 * Allowed: `OkHttpResponse` with the `X-Auth-*` headers (and the client's own copies of identity headers
 * this decision does not set removed, so an upstream never trusts a forged one). Denied:
 * `DeniedHttpResponse` with the decision's HTTP status (Envoy's `HttpStatusCode` values are the HTTP codes),
 * headers and the same JSON body as forward-auth.
 */
export function extAuthzResponse(decision: DoorDecision, headers: DecisionHeaders, message: string): CheckResponse {
  const options = Object.entries(headers).map(([key, value]) => option(key, value));
  if (decision.allowed) {
    const set = new Set(Object.keys(headers).map((k) => k.toLowerCase()));
    return {
      status: { code: RpcCode.OK, message: '' },
      ok_response: { headers: options, headers_to_remove: IDENTITY_HEADERS.filter((h) => !set.has(h)) },
    };
  }
  const body = JSON.stringify({ allowed: false, status: decision.status, reason: decision.reason, message });
  return {
    status: { code: rpcCodeOf(decision.status), message: decision.reason },
    denied_response: {
      status: { code: decision.status },
      headers: [...options, option('content-type', 'application/json')],
      body,
    },
  };
}
