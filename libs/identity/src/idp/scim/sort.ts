import { getMember } from './filter';
import { invalidValue } from './scim-error';

type Json = Record<string, unknown>;

/** Attributes compared exactly (RFC 7643 `caseExact: true`); every other string compares case-insensitively. */
const CASE_EXACT = new Set(['id', 'externalid', 'value']);

/**
 * `sortBy` / `sortOrder` of a list request (RFC 7644 section 3.4.2.3): `sortBy` is an attribute path
 * (`userName`, `name.familyName`, `meta.lastModified`, or with a schema URN), a multi-valued attribute sorts
 * by its primary value (else its first), and resources without a value sort last when ascending. The sort is
 * stable, so equal values keep their order.
 */
export function sortResources(resources: Json[], sortBy: string | undefined, sortOrder: string | undefined): Json[] {
  if (sortBy === undefined || sortBy.trim() === '') {
    if (sortOrder !== undefined) checkOrder(sortOrder);
    return resources;
  }
  const descending = checkOrder(sortOrder ?? 'ascending');
  const path = parseSortBy(sortBy);
  const exact = CASE_EXACT.has((path.sub ?? path.attr).toLowerCase());
  const keyed = resources.map((resource, index) => ({ resource, index, key: sortKey(resource, path, exact) }));
  keyed.sort((a, b) => {
    if (a.key === undefined || b.key === undefined) {
      // Unassigned last when ascending; the whole order reverses when descending.
      const missing = a.key === undefined ? (b.key === undefined ? 0 : 1) : -1;
      return (descending ? -missing : missing) || a.index - b.index;
    }
    const order = a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
    return (descending ? -order : order) || a.index - b.index;
  });
  return keyed.map((k) => k.resource);
}

function checkOrder(sortOrder: string): boolean {
  const order = sortOrder.toLowerCase();
  if (order !== 'ascending' && order !== 'descending')
    throw invalidValue('sortOrder must be "ascending" or "descending"');
  return order === 'descending';
}

interface SortPath {
  schema?: string;
  attr: string;
  sub?: string;
}

const ATTR = /^[A-Za-z][\w$-]*$/;

function parseSortBy(sortBy: string): SortPath {
  const text = sortBy.trim();
  // An extension attribute: `urn:…:User:manager.value` — the schema URN ends at the last colon.
  const colon = text.lastIndexOf(':');
  const schema = colon > 0 && text.toLowerCase().startsWith('urn:') ? text.slice(0, colon) : undefined;
  const [attr, sub, ...rest] = (schema ? text.slice(colon + 1) : text).split('.');
  if (!attr || !ATTR.test(attr) || (sub !== undefined && !ATTR.test(sub)) || rest.length > 0) {
    throw invalidValue(`sortBy ${JSON.stringify(sortBy)} is not an attribute path`);
  }
  return { ...(schema ? { schema } : {}), attr, ...(sub ? { sub } : {}) };
}

function sortKey(resource: Json, path: SortPath, exact: boolean): string | number | undefined {
  const base = path.schema ? getMember(resource, path.schema) : resource;
  let value = getMember(base, path.attr);
  if (Array.isArray(value)) {
    value = value.find((item) => getMember(item, 'primary') === true) ?? value[0];
    if (path.sub === undefined && value !== null && typeof value === 'object') value = getMember(value, 'value');
  }
  if (path.sub !== undefined) value = getMember(value, path.sub);
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value !== 'string') return undefined;
  return exact ? value : value.toLowerCase();
}
