/**
 * A small fetch client for integration tests that call a service over HTTP. Response bodies are arbitrary
 * JSON that tests assert on field by field, so they are loosely typed on purpose.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  /** The parsed JSON body; the text itself when it is not JSON; undefined when empty. */
  body: T;
  text: string;
}

export interface CallOptions {
  /** Sent as `Authorization: Bearer <auth>`. */
  auth?: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is, instead of `body` (for malformed or byte-exact payloads). */
  raw?: string;
  /** Sent as given; `content-type` (any case) defaults to application/json when there is a payload. */
  headers?: Record<string, string>;
}

export type HttpCall = <T = any>(method: string, path: string, options?: CallOptions) => Promise<HttpResult<T>>;

/** `call(method, path, options)` against `baseUrl` (e.g. a test app's `url`). */
export function httpClient(baseUrl: string): HttpCall {
  return async function call<T = any>(method: string, path: string, options: CallOptions = {}): Promise<HttpResult<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.auth !== undefined) headers.authorization = `Bearer ${options.auth}`;
    let payload: string | undefined;
    if (options.raw !== undefined) payload = options.raw;
    else if (options.body !== undefined) payload = JSON.stringify(options.body);
    if (payload !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json';
    const res = await fetch(`${baseUrl}${path}`, { method, headers, body: payload });
    const text = await res.text();
    let body: unknown = undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    return { status: res.status, headers: res.headers, body: body as T, text };
  };
}
