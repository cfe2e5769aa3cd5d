/**
 * How hosts and paths are compared when a request is routed to a deployment (CONTRACT.md section 3,
 * `POST /v1/deployments`). One definition for the writer that validates and reserves a deployment's routes
 * (identity) and for the reader that routes every request (the authorizer, through all three doors), so what
 * a deployment claims and what a request names are always compared in the same form. Pure: no framework,
 * no I/O.
 *
 * Why decode at all: nginx, Envoy, Traefik and model servers (uvicorn, vLLM) decode `%XX` before they match
 * a location or a route, so `/%70rivate/x` *is* `/private/x` to the model. Matching the raw form would let a
 * caller reach a protected prefix through a public one.
 */

/** `Host` compared case-insensitively without port: `API.Example.com:8443` → `api.example.com`. */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    // IPv6 literal: `[::1]:8080` → `[::1]`
    const end = h.indexOf(']');
    return end === -1 ? h : h.slice(0, end + 1);
  }
  const colon = h.indexOf(':');
  if (colon !== -1 && h.indexOf(':', colon + 1) === -1) h = h.slice(0, colon);
  // A fully qualified name may end in a dot: `example.com.` is `example.com`.
  if (h.endsWith('.') && h.length > 1) h = h.slice(0, -1);
  return h;
}

/** Anything that needs more than "drop a trailing slash": an escape, a query, `\`, NUL, `//`, a dot segment, no leading `/`. */
const NEEDS_WORK = /[%?#\\\u0000]|\/\/|\/\.|^[^/]|^$/;
const HEX_PAIR = /^[0-9a-f]{2}$/i;
const FORWARD_SLASH = 0x2f;
const BACKSLASH = 0x5c;
const NUL = 0x00;
/** `fatal`: an invalid, overlong or surrogate UTF-8 sequence throws instead of turning into U+FFFD. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A request path in the form it is matched in: query string and fragment dropped (at the first `?` or `#` as
 * sent; a decoded `%3F` is part of the path), every `%XX` decoded once,
 * repeated `/` merged, `.` and `..` segments resolved (never above the root), no trailing slash except the
 * root. `undefined` when the path must match no deployment: an encoded `/` (`%2F`, any case; decoding it
 * would invent a segment boundary that proxies and servers disagree on), a `\` encoded or not (some servers
 * read it as `/`), NUL, a `%` not followed by two hex digits, or escapes that are not valid UTF-8 (overlong
 * forms such as `%C0%AF` included).
 */
export function normalizeRequestPath(path: string): string | undefined {
  if (!NEEDS_WORK.test(path)) return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const cut = path.search(/[?#]/);
  const raw = cut === -1 ? path : path.slice(0, cut);
  const decoded = raw.includes('%') ? percentDecode(raw) : raw;
  if (decoded === undefined || decoded.includes('\\') || decoded.includes('\u0000')) return undefined;
  const out: string[] = [];
  for (const segment of decoded.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  return `/${out.join('/')}`;
}

/** Decodes every `%XX` once (runs of escapes as UTF-8); `undefined` for what must match nothing (see above). */
function percentDecode(path: string): string | undefined {
  let out = '';
  let bytes: number[] = [];
  for (let i = 0; i < path.length;) {
    if (path[i] !== '%') {
      if (bytes.length > 0) {
        const text = decodeUtf8(bytes);
        if (text === undefined) return undefined;
        out += text;
        bytes = [];
      }
      out += path[i];
      i += 1;
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!HEX_PAIR.test(hex)) return undefined;
    const byte = parseInt(hex, 16);
    if (byte === FORWARD_SLASH || byte === BACKSLASH || byte === NUL) return undefined;
    bytes.push(byte);
    i += 3;
  }
  if (bytes.length === 0) return out;
  const text = decodeUtf8(bytes);
  return text === undefined ? undefined : out + text;
}

function decodeUtf8(bytes: number[]): string | undefined {
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Why `prefix` cannot be a deployment's path prefix, or `undefined` when it can. A prefix is written in the
 * form requests are matched in (decoded, see `normalizeRequestPath`), so it is refused rather than silently
 * rewritten when it is not: a `%` (write `/café`, not `/caf%C3%A9`), `\`, an empty, `.` or `..` segment, a
 * query, fragment, space or control character. A trailing `/` is allowed and dropped (`normalizePathPrefix`).
 */
export function pathPrefixProblem(prefix: string): string | undefined {
  if (!prefix.startsWith('/')) return 'must start with /';
  if (prefix.includes('%')) return 'must be written decoded, without %: requests are matched after percent-decoding';
  if (/[?#\\\s\u0000-\u001f\u007f]/.test(prefix))
    return 'must not contain a query, fragment, backslash, space or control character';
  const segments = prefix.slice(1).split('/');
  if (segments.slice(0, -1).some((s) => s === '') || segments.some((s) => s === '.' || s === '..'))
    return 'must be in normal form: no empty, . or .. segments (repeated / included)';
  return undefined;
}

/** A valid prefix (see `pathPrefixProblem`) as stored and matched: without its trailing slash, except `/`. */
export function normalizePathPrefix(prefix: string): string {
  return prefix.length > 1 && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
}
