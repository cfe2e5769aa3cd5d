/**
 * The console's only way to the server: the public REST API, same origin, with the session credential in the
 * Authorization header. The credential lives in this module's memory only (never localStorage or a cookie the
 * API would accept): a reload or sign-out forgets it, and no other page or script on the origin can read it.
 */

/** An API error in the contract's shape, its message ready to show. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ApiAnswer<T> {
  data: T;
  /** Ids of the events the write committed (`Tollgate-Event-Id`). */
  eventIds: string[];
}

let credential: string | undefined;
/** Why the last session ended on its own (expired or revoked credential), for the sign-in page. */
let endedBecause: string | undefined;
const listeners = new Set<() => void>();

export const session = {
  get credential(): string | undefined {
    return credential;
  },
  get endedBecause(): string | undefined {
    return endedBecause;
  },
  signIn(value: string): void {
    credential = value;
    endedBecause = undefined;
    listeners.forEach((l) => l());
  },
  signOut(reason?: string): void {
    credential = undefined;
    endedBecause = reason;
    listeners.forEach((l) => l());
  },
  onChange(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Another credential than the session's (sign-in checks a pasted key before keeping it). */
  credential?: string | null;
}

export async function api<T>(method: string, path: string, options: CallOptions = {}): Promise<ApiAnswer<T>> {
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
  const auth = options.credential === undefined ? credential : options.credential;
  if (auth) headers.Authorization = `Bearer ${auth}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiFailure(0, 'network', 'The server could not be reached. Check your connection and try again.');
  }
  const text = await response.text();
  let data: unknown = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!response.ok) {
    const error = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
    // The session's own credential is no longer accepted (expired, revoked, user deactivated): end the session.
    if (response.status === 401 && auth !== undefined && auth === credential) {
      session.signOut(
        `Your session ended: ${error?.message ?? 'the credential is no longer accepted'}. Sign in again.`,
      );
    }
    throw new ApiFailure(
      response.status,
      error?.code ?? 'http-error',
      error?.message ?? `The server answered ${response.status} ${response.statusText}`.trim(),
    );
  }
  const eventIds = (response.headers.get('Tollgate-Event-Id') ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  return { data: data as T, eventIds };
}

/** `?a=1&b=2` from the defined, non-empty values. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params))
    if (value !== undefined && value !== '') search.set(name, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** A path segment from an id the API gave us (never trusted to be URL-safe). */
export const seg = (id: string): string => encodeURIComponent(id);

export const messageOf = (err: unknown): string =>
  err instanceof Error ? err.message : 'Something went wrong. Try again.';
