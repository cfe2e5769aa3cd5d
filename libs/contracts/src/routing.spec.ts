import { describe, expect, it } from '@jest/globals';
import { normalizeHost, normalizePathPrefix, normalizeRequestPath, pathPrefixProblem } from './routing';

// Each row is a request path as a gateway forwards it (nginx `$request_uri`, Envoy `:path`, Traefik
// `X-Forwarded-Uri`) and what nginx, Envoy (`normalize_path`, `merge_slashes`), Traefik and uvicorn/Starlette
// make of it before they pick a location or route handler: Tollgate must match the same path, or refuse.
describe('normalizeRequestPath: the path every door routes on', () => {
  it.each([
    // already in normal form
    ['/', '/'],
    ['/v1/chat/completions', '/v1/chat/completions'],
    ['/v1/a/', '/v1/a'],
    ['', '/'],
    ['v1/a', '/v1/a'],
    // the query string and fragment are not part of the path (a decoded %3F is)
    ['/v1/a?x=/v1/a/x', '/v1/a'],
    ['/v1/a#/private', '/v1/a'],
    ['/v1/a?%2f', '/v1/a'],
    // percent-encoding of ordinary characters is decoded once
    ['/%70rivate/x', '/private/x'],
    ['/%70%72%69%76%61%74%65', '/private'],
    ['/PRIVATE%2Dx', '/PRIVATE-x'],
    ['/priv%61te', '/private'],
    ['/%2e%2e/private', '/private'],
    ['/public/%2E%2E/private/x', '/private/x'],
    ['/public/%2e./private', '/private'],
    ['/public/.%2E/private', '/private'],
    ['/caf%C3%A9', '/café'],
    ['/caf%c3%a9/menu', '/café/menu'],
    ['/a%20b', '/a b'],
    ['/a%3Fb', '/a?b'],
    ['/a%23b', '/a#b'],
    // decoded once, never twice: %25 is a literal %
    ['/%2570rivate', '/%70rivate'],
    ['/private%252fx', '/private%2fx'],
    // repeated slashes merged
    ['//private/x', '/private/x'],
    ['/private//x', '/private/x'],
    ['///', '/'],
    // dot segments resolved, never above the root
    ['//private/./x', '/private/x'],
    ['/a/../private', '/private'],
    ['/a/b/../../private/', '/private'],
    ['/../private', '/private'],
    ['/../../..', '/'],
    ['/./', '/'],
    ['/v1/a/x/../y', '/v1/a/y'],
    ['/.well-known/x', '/.well-known/x'],
    ['/...', '/...'],
  ])('%j → %j', (path, normal) => {
    expect(normalizeRequestPath(path)).toBe(normal);
  });

  it.each([
    // an encoded slash or backslash: servers disagree whether it splits a segment (Envoy's
    // path_with_escaped_slashes_action, nginx decodes it, uvicorn keeps it in one segment)
    ['/private%2fx'],
    ['/private%2Fx'],
    ['/%2fprivate'],
    ['/private%5cx'],
    ['/private%5Cx'],
    ['/private\\x'],
    ['\\private'],
    // NUL, encoded or not
    ['/private%00.txt'],
    ['/private\u0000'],
    // malformed escapes
    ['/private%'],
    ['/private%2'],
    ['/private%zz'],
    ['/private%%32%66'],
    ['/%u0070rivate'],
    // invalid UTF-8: overlong forms of '/' and '.', lone continuation or lead bytes, encoded surrogates
    ['/%C0%AF'],
    ['/%c0%afprivate'],
    ['/%E0%80%AF'],
    ['/%F0%80%80%AF'],
    ['/%C0%AE%C0%AE/private'],
    ['/%80'],
    ['/%C3'],
    ['/%C3x'],
    ['/%ED%A0%80'],
    ['/%F4%90%80%80'],
    ['/%FF'],
  ])('%j matches no deployment', (path) => {
    expect(normalizeRequestPath(path)).toBeUndefined();
  });
});

describe('path prefixes: written in the decoded normal form', () => {
  it.each([['/'], ['/v1'], ['/v1/a/'], ['/café'], ['/v1/.well-known'], ['/a-b_c~d']])('%j is accepted', (prefix) => {
    expect(pathPrefixProblem(prefix)).toBeUndefined();
    // What is stored is exactly what a request path normalizes to.
    expect(normalizePathPrefix(prefix)).toBe(normalizeRequestPath(prefix));
  });

  it.each([
    ['v1', 'must start with /'],
    ['', 'must start with /'],
    ['/%70rivate', 'decoded'],
    ['/private%2fx', 'decoded'],
    ['/a%', 'decoded'],
    ['/a\\b', 'backslash'],
    ['/a?b', 'query'],
    ['/a#b', 'fragment'],
    ['/a b', 'space'],
    ['/a\u0000', 'control'],
    ['/a\tb', 'space'],
    ['//a', 'normal form'],
    ['/a//b', 'normal form'],
    ['/a//', 'normal form'],
    ['/./a', 'normal form'],
    ['/a/..', 'normal form'],
    ['/a/../b', 'normal form'],
  ])('%j is refused (%s)', (prefix, reason) => {
    expect(pathPrefixProblem(prefix)).toContain(reason);
  });
});

describe('normalizeHost', () => {
  it.each([
    ['API.Example.com:8443', 'api.example.com'],
    ['example.com.', 'example.com'],
    ['[::1]:8080', '[::1]'],
    ['10.0.0.1:80', '10.0.0.1'],
    ['  models.example.com ', 'models.example.com'],
  ])('%j → %j', (host, normal) => {
    expect(normalizeHost(host)).toBe(normal);
  });
});
