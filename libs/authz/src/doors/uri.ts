/**
 * The path of an original request URI, without query string or fragment: a credential in a query string is
 * ignored (CONTRACT.md section 1), so the query never reaches the check. Absolute-form URIs
 * (`http://host/p`) give their path. Empty → `/`.
 */
export function pathOfUri(uri: string | undefined): string | undefined {
  if (uri === undefined) return undefined;
  let value = uri.trim();
  if (value === '') return undefined;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    const afterScheme = value.indexOf('//') + 2;
    const slash = value.indexOf('/', afterScheme);
    value = slash === -1 ? '/' : value.slice(slash);
  }
  const cut = value.search(/[?#]/);
  if (cut !== -1) value = value.slice(0, cut);
  return value === '' ? '/' : value;
}

/** The first value of a header that proxies may turn into a list (`X-Forwarded-Host: a, b`). */
export function firstListValue(value: string | readonly string[] | undefined): string | undefined {
  const raw = typeof value === 'string' ? value : value?.[0];
  if (raw === undefined) return undefined;
  const first = raw.split(',')[0]!.trim();
  return first === '' ? undefined : first;
}
