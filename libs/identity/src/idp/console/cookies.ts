/** Reading a `Cookie` header and writing `Set-Cookie` values, for the console sign-in's two cookies. */

/** The value of cookie `name` in a `Cookie` header (the first one), or undefined. */
export function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  const text = Array.isArray(header) ? header.join('; ') : (header ?? '');
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export interface CookieOptions {
  path: string;
  maxAgeSeconds: number;
  /** `Lax` for the cookie that must survive the IdP's redirect back; `Strict` otherwise. */
  sameSite: 'Strict' | 'Lax';
}

/** HttpOnly (no script reads it) and Secure (never sent in clear; browsers treat loopback as secure too). */
export const setCookie = (name: string, value: string, o: CookieOptions): string =>
  `${name}=${value}; Path=${o.path}; Max-Age=${o.maxAgeSeconds}; HttpOnly; Secure; SameSite=${o.sameSite}`;

export const clearCookie = (name: string, o: Omit<CookieOptions, 'maxAgeSeconds'>): string =>
  setCookie(name, '', { ...o, maxAgeSeconds: 0 });
