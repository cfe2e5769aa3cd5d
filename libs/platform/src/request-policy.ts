import { ApiError, type ApiErrorDetail, isUnsafeText, UNSAFE_TEXT_MESSAGE } from '@tollgate/contracts';

/**
 * The one policy for what a request may carry (CONTRACT.md section 3), applied by the HTTP app to every
 * route of every service, and by the routes that must read their body themselves (webhooks verify a
 * signature over the raw bytes first). Nothing else in Tollgate parses a request body.
 *
 * - A JSON body with a key `__proto__`, or a key `constructor` holding `prototype`, at any depth is 400
 *   `malformed-json`: such keys turn into prototype pollution as soon as any code copies the object.
 * - A body nested deeper than `MAX_JSON_DEPTH` is 400 `malformed-json`: the code that reads bodies
 *   (validation, SCIM PATCH) recurses, and no Tollgate body needs more.
 * - A string holding U+0000 or an unpaired UTF-16 surrogate, as a value or a key of a body, or in a path or
 *   query parameter, is 400 `validation-failed` naming the fields.
 */

/** The media types read as JSON; every other body is 415. */
export const JSON_MEDIA_TYPES = ['application/json', 'application/scim+json', 'application/merge-patch+json'];

/** True when a `Content-Type` header names one of `JSON_MEDIA_TYPES` (parameters such as `charset` aside). */
export function isJsonMediaType(contentType: string | undefined): boolean {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return type !== undefined && JSON_MEDIA_TYPES.includes(type);
}

export const MAX_JSON_DEPTH = 32;

/** At most this many fields are named in one answer: the first few say enough. */
const MAX_DETAILS = 20;

const malformed = (message: string) => new ApiError('malformed-json', message);

/**
 * Parses a request body under the policy. Empty (or blank) text is no body: `undefined` (HTTP clients send
 * `Content-Type: application/json` on a bodiless DELETE). Throws an `ApiError`.
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw malformed('request body is not valid JSON');
  }
  const unsafe = inspectJson(value);
  if (unsafe.length > 0) throw unsafeText('body', unsafe);
  return value;
}

/** Refuses unsafe text in path and query parameters (both as Fastify parsed them). */
export function assertSafeParameters(params: unknown, query: unknown): void {
  const unsafe = [...unsafeEntries('path', params), ...unsafeEntries('query', query)];
  if (unsafe.length > 0) throw unsafeText('parameters', unsafe);
}

function unsafeText(where: string, fields: string[]): ApiError {
  const details: ApiErrorDetail[] = fields
    .slice(0, MAX_DETAILS)
    .map((field) => ({ field, message: UNSAFE_TEXT_MESSAGE }));
  return new ApiError('validation-failed', `invalid ${where}: ${details.map((d) => d.field).join(', ')}`, details);
}

/** A field name fit to send back: an unsafe key is shown with U+FFFD in place of what made it unsafe. */
const printable = (name: string): string => name.replace(/[\0\uD800-\uDFFF]/g, '\uFFFD');
const join = (path: string, name: string): string => (path === '' ? printable(name) : `${path}.${printable(name)}`);

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Walks a parsed JSON value without recursion (a hostile body may nest as deep as 1 MiB allows); throws on
 * a prototype key or excessive depth, and returns the paths of unsafe strings.
 */
function inspectJson(root: unknown): string[] {
  const unsafe: string[] = [];
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: root, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (isUnsafeText(value)) unsafe.push(path === '' ? 'body' : path);
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) throw malformed(`request body nests deeper than ${MAX_JSON_DEPTH} levels`);
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--)
        stack.push({ value: value[i], path: join(path, String(i)), depth: depth + 1 });
      continue;
    }
    const entries = Object.entries(value as Record<string, unknown>);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      if (key === '__proto__' || (key === 'constructor' && isPlainObject(child) && Object.hasOwn(child, 'prototype')))
        throw malformed(`request body holds the key ${JSON.stringify(key)}, which is refused`);
      if (isUnsafeText(key)) unsafe.push(join(path, key));
      stack.push({ value: child, path: join(path, key), depth: depth + 1 });
    }
  }
  return unsafe;
}

/** Unsafe names and values of a parameter object (values are strings, or arrays of strings for a repeated query parameter). */
function unsafeEntries(where: string, params: unknown): string[] {
  if (!isPlainObject(params)) return [];
  const unsafe: string[] = [];
  for (const [name, value] of Object.entries(params)) {
    const values = Array.isArray(value) ? value : [value];
    if (isUnsafeText(name) || values.some((v) => typeof v === 'string' && isUnsafeText(v)))
      unsafe.push(join(where, name));
  }
  return unsafe;
}
