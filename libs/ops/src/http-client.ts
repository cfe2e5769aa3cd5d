import { CliError, EXIT, notFoundError, unreachableError, usageError } from './cli-errors';

/** A small client for Tollgate's own management API (keys revoke, revocation status). */
export class TollgateApi {
  constructor(
    readonly baseUrl: string,
    private readonly credential: string | undefined,
  ) {
    if (!/^https?:\/\//.test(baseUrl)) throw usageError(`--url must be an http(s) URL, got ${JSON.stringify(baseUrl)}`);
  }

  /** GET without failing on an error status (health endpoints answer 503 with a body worth reading). */
  async getRaw(path: string): Promise<{ status: number; body: unknown }> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        headers: this.credential ? { authorization: `Bearer ${this.credential}` } : {},
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw unreachableError(`cannot reach ${this.baseUrl}: ${(err as Error).message}`);
    }
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body };
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: {
          ...(this.credential ? { authorization: `Bearer ${this.credential}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw unreachableError(`cannot reach ${this.baseUrl}: ${(err as Error).message}`);
    }
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as unknown) : undefined;
    if (res.ok) return parsed as T;
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    const message = `${method} ${path}: ${res.status} ${error?.code ?? ''} ${error?.message ?? ''}`.trim();
    if (res.status === 404) throw notFoundError(message);
    if (res.status >= 500) throw new CliError(message, EXIT.unreachable);
    throw new CliError(message, EXIT.failed);
  }
}
