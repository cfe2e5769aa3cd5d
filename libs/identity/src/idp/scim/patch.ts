import {
  type AttrPath,
  type Filter,
  getMember,
  isAttributeName,
  matches,
  parseAttrPath,
  parsePatchPath,
  type PatchPath,
} from './filter';
import { type AttributeSpec, findSpec, PATCH_OP_SCHEMA, type ResourceShape } from './schema';
import { invalidPath, invalidSyntax, invalidValue, mutability, noTarget } from './scim-error';

/**
 * SCIM PATCH (RFC 7644 section 3.5.2) over a JSON resource, pure: every operation is applied to a copy and
 * the copy is returned only if all of them succeed (atomic). Accepts what Microsoft Entra ID and Okta really
 * send: capitalised `Add`/`Replace`/`Remove`, booleans as strings (`"False"`), a path-less `replace` whose
 * value object has dotted or URN-prefixed keys (`"name.givenName"`), `remove` of `members` with a value
 * list, and `replace` with `id` in the value (Okta group rename).
 */

export type PatchOp = 'add' | 'replace' | 'remove';

export interface PatchOperation {
  op: PatchOp;
  path?: string;
  value?: unknown;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** An own member only: `toString` or `constructor` of a resource are never inherited from `Object.prototype`. */
const own = (object: Json, key: string): unknown => (Object.hasOwn(object, key) ? object[key] : undefined);

/** A name taken from the request (a body key) that is about to become an attribute name. */
function attributeName(name: string, where: string): string {
  if (!isAttributeName(name)) throw invalidPath(`${where}: ${JSON.stringify(name)} is not an attribute name`);
  return name;
}
const MAX_OPERATIONS = 1000;

/** Validates a PatchOp request body and returns its operations (op names lower-cased). */
export function parsePatchRequest(body: unknown): PatchOperation[] {
  if (!isObject(body)) throw invalidSyntax('the body must be a JSON object (a PatchOp request)');
  const schemas = getMember(body, 'schemas');
  if (
    !Array.isArray(schemas) ||
    !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === PATCH_OP_SCHEMA.toLowerCase())
  ) {
    throw invalidSyntax(`schemas must contain ${PATCH_OP_SCHEMA}`);
  }
  const operations = getMember(body, 'Operations');
  if (!Array.isArray(operations) || operations.length === 0)
    throw invalidSyntax('Operations must be a non-empty array');
  if (operations.length > MAX_OPERATIONS) throw invalidSyntax(`at most ${MAX_OPERATIONS} operations`);
  return operations.map((raw, i) => {
    if (!isObject(raw)) throw invalidSyntax(`Operations[${i}] must be an object`);
    const op = getMember(raw, 'op');
    if (typeof op !== 'string' || !['add', 'replace', 'remove'].includes(op.toLowerCase())) {
      throw invalidSyntax(`Operations[${i}].op must be add, replace or remove`);
    }
    const path = getMember(raw, 'path');
    if (path !== undefined && path !== null && (typeof path !== 'string' || path.trim() === '')) {
      throw invalidSyntax(`Operations[${i}].path must be a non-empty string`);
    }
    const value = getMember(raw, 'value');
    const operation: PatchOperation = { op: op.toLowerCase() as PatchOp };
    if (typeof path === 'string') operation.path = path;
    if (value !== undefined) operation.value = value;
    if (operation.op !== 'remove' && value === undefined)
      throw invalidSyntax(`Operations[${i}] (${operation.op}) needs a value`);
    if (operation.op === 'remove' && operation.path === undefined)
      throw noTarget(`Operations[${i}] (remove) needs a path`);
    return operation;
  });
}

/** Applies `operations` to a copy of `resource`; throws a `ScimError` (nothing applied) on the first failure. */
export function applyPatch(resource: Json, operations: readonly PatchOperation[], shape: ResourceShape): Json {
  const copy = structuredClone(resource);
  for (const operation of operations) applyOperation(copy, operation, shape);
  return copy;
}

function applyOperation(resource: Json, operation: PatchOperation, shape: ResourceShape): void {
  if (operation.path === undefined) {
    // No path: the value is a set of attributes (keys may be paths, even URN-prefixed ones).
    if (!isObject(operation.value)) throw invalidValue(`${operation.op} without a path needs an object value`);
    for (const [key, value] of Object.entries(operation.value)) {
      // `{ "urn:…:enterprise:2.0:User": { "department": "x" } }` is an extension object;
      // `{ "urn:…:enterprise:2.0:User:department": "x" }` is a path into one.
      const lower = key.toLowerCase();
      const parentIsExtension = shape.extensions.has(lower.slice(0, lower.lastIndexOf(':')));
      if (/^urn:/i.test(key) && (shape.extensions.has(lower) || (!parentIsExtension && isObject(value)))) {
        if (!isObject(value)) throw invalidValue(`${key} must be an object`);
        for (const [sub, v] of Object.entries(value))
          applyAt(resource, { path: { schema: key, attr: attributeName(sub, key) } }, operation.op, v, shape);
        continue;
      }
      applyAt(resource, parsePatchPath(key), operation.op, value, shape);
    }
    return;
  }
  applyAt(resource, parsePatchPath(operation.path), operation.op, operation.value, shape);
}

interface Target {
  container: Json;
  key: string;
  spec: AttributeSpec | undefined;
}

/** The object holding the attribute (the resource, or its extension object, created on demand) and its key. */
function target(resource: Json, path: AttrPath, shape: ResourceShape, create: boolean): Target | undefined {
  let container = resource;
  let specs = shape.core;
  if (path.schema !== undefined) {
    specs = shape.extensions.get(path.schema.toLowerCase()) ?? [];
    const existingKey = Object.keys(resource).find((k) => k.toLowerCase() === path.schema!.toLowerCase());
    const schemaKey = existingKey ?? canonicalSchema(path.schema, shape);
    if (!isObject(own(resource, schemaKey))) {
      if (!create) return undefined;
      resource[schemaKey] = {};
    }
    container = resource[schemaKey] as Json;
  }
  const spec = findSpec(specs, path.attr);
  const key =
    Object.keys(container).find((k) => k.toLowerCase() === path.attr.toLowerCase()) ?? spec?.name ?? path.attr;
  return { container, key, spec };
}

function canonicalSchema(schema: string, shape: ResourceShape): string {
  for (const known of shape.extensions.keys()) if (known === schema.toLowerCase()) return schemaName(known);
  return schema;
}

const schemaName = (lower: string): string =>
  lower === 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:user'
    ? 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
    : lower;

function coerce(spec: AttributeSpec | undefined, value: unknown, where: string): unknown {
  if (spec?.type === 'boolean') {
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
    throw invalidValue(`${where} must be a boolean`);
  }
  if (isObject(value) && spec?.subAttributes) {
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) {
      const sub = findSpec(spec.subAttributes, k);
      out[sub?.name ?? attributeName(k, where)] = coerce(sub, v, `${where}.${k}`);
    }
    return out;
  }
  return value;
}

function assertWritable(resource: Json, spec: AttributeSpec | undefined, key: string, value: unknown): boolean {
  if (spec?.mutability !== 'readOnly') return true;
  if (key === 'id') {
    if (value === resource.id) return false; // Okta sends the id with a rename: same id, nothing to do
    throw mutability('id is read-only');
  }
  return false; // other read-only attributes (meta, groups) are ignored
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObject(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys(v[k])]),
    );
  return v;
}

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

/** The equality terms of a filter (`type eq "work" and primary eq true`), to create the element it names. */
function equalityTerms(filter: Filter): Json | undefined {
  if (filter.op === 'eq' && !filter.path.schema && !filter.path.sub) return { [filter.path.attr]: filter.value };
  if (filter.op === 'and') {
    const left = equalityTerms(filter.left);
    const right = equalityTerms(filter.right);
    return left && right ? { ...left, ...right } : undefined;
  }
  return undefined;
}

function setMember(object: Json, name: string, spec: AttributeSpec | undefined, value: unknown, where: string): void {
  const key =
    Object.keys(object).find((k) => k.toLowerCase() === name.toLowerCase()) ?? spec?.name ?? attributeName(name, where);
  if (value === null) delete object[key];
  else object[key] = coerce(spec, value, where);
}

function applyAt(resource: Json, patchPath: PatchPath, op: PatchOp, value: unknown, shape: ResourceShape): void {
  const { path, filter, sub } = patchPath;
  const where = [path.schema, path.attr].filter(Boolean).join(':') + (path.sub ? `.${path.sub}` : '');
  const t = target(resource, path, shape, op !== 'remove');
  if (t === undefined) return; // remove from an extension that is not there: nothing to do
  const { container, key, spec } = t;
  if (op !== 'remove' && !assertWritable(resource, spec, key, value)) return;
  if (op === 'remove' && spec?.mutability === 'readOnly') throw mutability(`${where} is read-only`);

  if (filter !== undefined) {
    applyFiltered(container, key, spec, filter, sub, op, value, where);
    return;
  }

  if (path.sub !== undefined) {
    // A sub-attribute of a complex attribute: `name.givenName`.
    const subSpec = findSpec(spec?.subAttributes, path.sub);
    const current = own(container, key);
    if (Array.isArray(current) || spec?.multiValued)
      throw noTarget(`${where}: use a value filter to address values of a multi-valued attribute`);
    if (op === 'remove') {
      if (isObject(current)) {
        const subKey = Object.keys(current).find((k) => k.toLowerCase() === path.sub!.toLowerCase());
        if (subKey) delete current[subKey];
      }
      return;
    }
    const object = isObject(current) ? current : {};
    setMember(object, path.sub, subSpec, value, where);
    container[key] = object;
    return;
  }

  const current = own(container, key);
  if (op === 'remove') {
    if (value !== undefined && (spec?.multiValued || Array.isArray(current))) {
      // Entra ID: `{ op: Remove, path: members, value: [{ value: id }] }` removes those values.
      const doomed = asArray(value);
      container[key] = asArray(current ?? []).filter(
        (item) =>
          !doomed.some((d) =>
            isObject(d) && isObject(item) && 'value' in d
              ? getMember(item, 'value') === getMember(d, 'value')
              : deepEqual(d, item),
          ),
      );
      return;
    }
    delete container[key];
    return;
  }
  if (value === null) {
    delete container[key];
    return;
  }
  if (spec?.multiValued || Array.isArray(current)) {
    const values = asArray(value).map((v) => coerce(spec, v, where));
    if (op === 'replace') {
      container[key] = values;
      return;
    }
    const list = Array.isArray(current) ? [...current] : [];
    for (const v of values) if (!list.some((x) => deepEqual(x, v))) list.push(v);
    container[key] = list;
    return;
  }
  if ((spec?.type === 'complex' || isObject(current)) && isObject(value)) {
    // A complex attribute: the given sub-attributes are set, the others are left as they are.
    const object = isObject(current) ? current : {};
    for (const [k, v] of Object.entries(value))
      setMember(object, k, findSpec(spec?.subAttributes, k), v, `${where}.${k}`);
    container[key] = object;
    return;
  }
  container[key] = coerce(spec, value, where);
}

function applyFiltered(
  container: Json,
  key: string,
  spec: AttributeSpec | undefined,
  filter: Filter,
  sub: string | undefined,
  op: PatchOp,
  value: unknown,
  where: string,
): void {
  const current = own(container, key);
  if (current !== undefined && !Array.isArray(current)) throw noTarget(`${where} is not multi-valued`);
  const list = (current ?? []) as unknown[];
  const matched = list.filter((item) => isObject(item) && matches(filter, item));
  const subSpec = sub === undefined ? undefined : findSpec(spec?.subAttributes, sub);

  if (op === 'remove') {
    if (sub === undefined) container[key] = list.filter((item) => !matched.includes(item));
    else
      for (const item of matched) {
        const k = Object.keys(item as Json).find((x) => x.toLowerCase() === sub.toLowerCase());
        if (k) delete (item as Json)[k];
      }
    return;
  }

  if (matched.length === 0) {
    // Entra ID replaces `emails[type eq "work"].value` on users that have no work email yet: create it.
    const terms = equalityTerms(filter);
    if (terms === undefined) throw noTarget(`no value of ${where} matches the filter`);
    const element: Json = {};
    for (const [k, v] of Object.entries(terms))
      setMember(element, k, findSpec(spec?.subAttributes, k), v, `${where}.${k}`);
    if (sub !== undefined) setMember(element, sub, subSpec, value, `${where}.${sub}`);
    else if (isObject(value))
      for (const [k, v] of Object.entries(value))
        setMember(element, k, findSpec(spec?.subAttributes, k), v, `${where}.${k}`);
    else throw invalidValue(`${where} needs an object value`);
    container[key] = [...list, element];
    return;
  }
  for (const item of matched) {
    if (sub !== undefined) setMember(item as Json, sub, subSpec, value, `${where}.${sub}`);
    else if (isObject(value))
      for (const [k, v] of Object.entries(value))
        setMember(item as Json, k, findSpec(spec?.subAttributes, k), v, `${where}.${k}`);
    else throw invalidValue(`${where} needs an object value`);
  }
  container[key] = list;
}

export { parseAttrPath };
