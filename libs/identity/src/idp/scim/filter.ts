import { isUnsafeText, UNSAFE_TEXT_MESSAGE } from '@tollgate/contracts';
import { invalidFilter, invalidPath, invalidValue, type ScimError } from './scim-error';

/**
 * SCIM filters and attribute paths (RFC 7644 sections 3.4.2.2 and 3.5.2): a tokenizer, a recursive-descent
 * parser, and an evaluator over JSON resources. Attribute names and operators are case-insensitive; a
 * schema URN may prefix an attribute (`urn:…:enterprise:2.0:User:employeeNumber`).
 */

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type CompValue = string | number | boolean | null;

export interface AttrPath {
  /** A schema URN when the path named one (not the resource's core schema). */
  schema?: string;
  /** Attribute name as written (compare case-insensitively). */
  attr: string;
  sub?: string;
}

export type Filter =
  | { op: 'pr'; path: AttrPath }
  | { op: CompareOp; path: AttrPath; value: CompValue }
  | { op: 'and' | 'or'; left: Filter; right: Filter }
  | { op: 'not'; filter: Filter }
  /** `emails[type eq "work"]`, optionally followed by `.value op v` (a filter on a sub-attribute of the matched values). */
  | { op: 'valuePath'; path: AttrPath; filter: Filter };

/** A PATCH target: `attrPath`, or `attrPath[valFilter]`, or `attrPath[valFilter].subAttr`. */
export interface PatchPath {
  path: AttrPath;
  filter?: Filter;
  /** The sub-attribute after a value filter (`emails[type eq "work"].value`). */
  sub?: string;
}

const COMPARE_OPS: ReadonlySet<string> = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);
const CORE_SCHEMAS = ['urn:ietf:params:scim:schemas:core:2.0:user', 'urn:ietf:params:scim:schemas:core:2.0:group'];
const MAX_FILTER_LENGTH = 4096;
const MAX_DEPTH = 32;

type Token =
  | { kind: 'word'; text: string; at: number }
  | { kind: 'string'; text: string; at: number }
  | { kind: 'number'; value: number; at: number }
  | { kind: '(' | ')' | '[' | ']'; at: number }
  | { kind: 'end'; at: number };

function tokenize(input: string, fail: (detail: string) => ScimError): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '(' || c === ')' || c === '[' || c === ']') {
      tokens.push({ kind: c, at: i });
      i++;
    } else if (c === '"') {
      // A JSON string: escapes as in JSON.
      let j = i + 1;
      while (j < input.length && input[j] !== '"') j += input[j] === '\\' ? 2 : 1;
      if (j >= input.length) throw fail(`unterminated string at ${i}`);
      let text: string;
      try {
        text = JSON.parse(input.slice(i, j + 1)) as string;
      } catch {
        throw fail(`invalid string at ${i}`);
      }
      // Escapes can spell what the request policy refused in the raw request (`"\u0000"`); PostgreSQL cannot hold it.
      if (isUnsafeText(text)) throw invalidValue(`the string at ${i} ${UNSAFE_TEXT_MESSAGE}`);
      tokens.push({ kind: 'string', text, at: i });
      i = j + 1;
    } else if (/[-0-9]/.test(c) && /^-?\d/.test(input.slice(i, i + 2))) {
      const m = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(input.slice(i))!;
      tokens.push({ kind: 'number', value: Number(m[0]), at: i });
      i += m[0].length;
    } else if (c === '.' && tokens[tokens.length - 1]?.kind === ']') {
      // the sub-attribute after a value filter: `emails[type eq "work"].value`
      const m = /^\.[A-Za-z$][A-Za-z0-9_$-]*/.exec(input.slice(i));
      if (!m) throw fail(`invalid sub-attribute at ${i}`);
      tokens.push({ kind: 'word', text: m[0], at: i });
      i += m[0].length;
    } else if (/[A-Za-z_$]/.test(c)) {
      // attribute paths (with URN colons and dots), operators, true/false/null, and/or/not
      const m = /^[A-Za-z_$][A-Za-z0-9_$:.\-]*/.exec(input.slice(i))!;
      tokens.push({ kind: 'word', text: m[0], at: i });
      i += m[0].length;
    } else {
      throw fail(`unexpected character ${JSON.stringify(c)} at ${i}`);
    }
  }
  tokens.push({ kind: 'end', at: input.length });
  return tokens;
}

/**
 * An attribute name (RFC 7643 section 2.1: `ALPHA *(nameChar)`, `$` as Entra ID sends in `$ref`). Every name
 * a PATCH writes passes this, so none can be `__proto__`.
 */
export const isAttributeName = (name: string): boolean => /^[A-Za-z$][A-Za-z0-9_$-]*$/.test(name);

/** `urn:…:User:name.givenName` → { schema, attr: 'name', sub: 'givenName' }; `name.givenName` → { attr, sub }. */
export function parseAttrPath(text: string, fail: (detail: string) => ScimError = invalidPath): AttrPath {
  let schema: string | undefined;
  let rest = text;
  if (/^urn:/i.test(text)) {
    const colon = text.lastIndexOf(':');
    schema = text.slice(0, colon);
    rest = text.slice(colon + 1);
    if (CORE_SCHEMAS.includes(schema.toLowerCase())) schema = undefined;
  }
  const parts = rest.split('.');
  if (parts.length > 2 || !parts.every(isAttributeName)) throw fail(`invalid attribute path ${JSON.stringify(text)}`);
  return { ...(schema ? { schema } : {}), attr: parts[0]!, ...(parts[1] ? { sub: parts[1] } : {}) };
}

class Parser {
  private pos = 0;
  private depth = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly fail: (detail: string) => ScimError,
  ) {}

  private peek(): Token {
    return this.tokens[this.pos]!;
  }
  private next(): Token {
    return this.tokens[this.pos++]!;
  }
  private keyword(word: string): boolean {
    const t = this.peek();
    return t.kind === 'word' && t.text.toLowerCase() === word;
  }

  end(): void {
    const t = this.peek();
    if (t.kind !== 'end') throw this.fail(`unexpected ${describe(t)} at ${t.at}`);
  }

  filter(): Filter {
    if (++this.depth > MAX_DEPTH) throw this.fail('filter nested too deeply');
    let left = this.andExpr();
    while (this.keyword('or')) {
      this.next();
      left = { op: 'or', left, right: this.andExpr() };
    }
    this.depth--;
    return left;
  }

  private andExpr(): Filter {
    let left = this.unary();
    while (this.keyword('and')) {
      this.next();
      left = { op: 'and', left, right: this.unary() };
    }
    return left;
  }

  private unary(): Filter {
    if (this.keyword('not')) {
      this.next();
      if (this.peek().kind !== '(') throw this.fail('not must be followed by (');
      return { op: 'not', filter: this.group() };
    }
    if (this.peek().kind === '(') return this.group();
    return this.attrExpression();
  }

  private group(): Filter {
    this.next(); // (
    const inner = this.filter();
    if (this.next().kind !== ')') throw this.fail('missing )');
    return inner;
  }

  private attrExpression(): Filter {
    const t = this.next();
    if (t.kind !== 'word') throw this.fail(`expected an attribute at ${t.at}, found ${describe(t)}`);
    const path = parseAttrPath(t.text, this.fail);
    if (this.peek().kind === '[') {
      if (path.sub) throw this.fail(`a value filter applies to a multi-valued attribute, not ${t.text}`);
      this.next();
      const inner = this.filter();
      if (this.next().kind !== ']') throw this.fail('missing ]');
      const after = this.peek();
      if (after.kind === 'word' && after.text.startsWith('.')) {
        // `emails[type eq "work"].value eq "x"`: the comparison applies to the matched values' sub-attribute.
        this.next();
        const sub = after.text.slice(1);
        if (!/^[A-Za-z$][A-Za-z0-9_$-]*$/.test(sub)) throw this.fail(`invalid sub-attribute ${after.text}`);
        const comparison = this.comparison({ attr: sub });
        return { op: 'valuePath', path, filter: { op: 'and', left: inner, right: comparison } };
      }
      return { op: 'valuePath', path, filter: inner };
    }
    return this.comparison(path);
  }

  private comparison(path: AttrPath): Filter {
    const opToken = this.next();
    if (opToken.kind !== 'word') throw this.fail(`expected an operator at ${opToken.at}`);
    const op = opToken.text.toLowerCase();
    if (op === 'pr') return { op: 'pr', path };
    if (!COMPARE_OPS.has(op)) throw this.fail(`unknown operator ${opToken.text}`);
    const v = this.next();
    let value: CompValue;
    if (v.kind === 'string') value = v.text;
    else if (v.kind === 'number') value = v.value;
    else if (v.kind === 'word' && ['true', 'false', 'null'].includes(v.text.toLowerCase())) {
      value = v.text.toLowerCase() === 'null' ? null : v.text.toLowerCase() === 'true';
    } else throw this.fail(`expected a value after ${opToken.text} at ${v.at} (strings are quoted)`);
    return { op: op as CompareOp, path, value };
  }
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'word':
      return JSON.stringify(t.text);
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'end':
      return 'the end';
    default:
      return JSON.stringify(t.kind);
  }
}

/** Parses a `filter` query parameter; 400 `invalidFilter` naming the problem. */
export function parseFilter(text: string): Filter {
  if (text.length > MAX_FILTER_LENGTH) throw invalidFilter('filter too long');
  const parser = new Parser(tokenize(text, invalidFilter), invalidFilter);
  const filter = parser.filter();
  parser.end();
  return filter;
}

/** Parses a PATCH operation's `path`; 400 `invalidPath`. */
export function parsePatchPath(text: string): PatchPath {
  if (text.length > 1024) throw invalidPath('path too long');
  const bracket = text.indexOf('[');
  if (bracket === -1) return { path: parseAttrPath(text.trim()) };
  const close = text.lastIndexOf(']');
  if (close < bracket) throw invalidPath(`invalid path ${JSON.stringify(text)}`);
  const path = parseAttrPath(text.slice(0, bracket).trim());
  if (path.sub) throw invalidPath(`a value filter applies to a multi-valued attribute: ${JSON.stringify(text)}`);
  const parser = new Parser(tokenize(text.slice(bracket + 1, close), invalidPath), invalidPath);
  const filter = parser.filter();
  parser.end();
  const rest = text.slice(close + 1).trim();
  if (rest === '') return { path, filter };
  if (!/^\.[A-Za-z$][A-Za-z0-9_$-]*$/.test(rest)) throw invalidPath(`invalid path ${JSON.stringify(text)}`);
  return { path, filter, sub: rest.slice(1) };
}

// --- evaluation -------------------------------------------------------------------------------------------

/** Reads attributes of a resource case-insensitively; `caseExact` says how strings compare. */
export interface AttributeAccess {
  /** The values at `path` (multi-valued attributes flattened; missing: []). */
  values(resource: Record<string, unknown>, path: AttrPath): unknown[];
  caseExact(path: AttrPath): boolean;
}

export function getMember(object: unknown, name: string): unknown {
  if (object === null || typeof object !== 'object' || Array.isArray(object)) return undefined;
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(object)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** Generic access: the path's schema URN names an extension object; no attribute is case-exact but `id`, `externalId`, `value`. */
export const genericAccess: AttributeAccess = {
  values(resource, path) {
    const base = path.schema ? getMember(resource, path.schema) : resource;
    const top = getMember(base, path.attr);
    const list = Array.isArray(top) ? top : top === undefined ? [] : [top];
    if (!path.sub) return list;
    return list.flatMap((item) => {
      const v = getMember(item, path.sub!);
      return Array.isArray(v) ? v : v === undefined ? [] : [v];
    });
  },
  caseExact(path) {
    const name = (path.sub ?? path.attr).toLowerCase();
    return name === 'id' || name === 'externalid' || name === 'value';
  },
};

function compare(op: CompareOp, actual: unknown, expected: CompValue, caseExact: boolean): boolean {
  if (expected === null) return op === 'eq' ? actual === null : op === 'ne' ? actual !== null : false;
  if (typeof expected === 'boolean') {
    const a =
      typeof actual === 'string'
        ? actual.toLowerCase() === 'true'
          ? true
          : actual.toLowerCase() === 'false'
            ? false
            : actual
        : actual;
    return op === 'eq' ? a === expected : op === 'ne' ? a !== expected : false;
  }
  if (typeof expected === 'number') {
    if (typeof actual !== 'number') return op === 'ne';
    switch (op) {
      case 'eq':
        return actual === expected;
      case 'ne':
        return actual !== expected;
      case 'gt':
        return actual > expected;
      case 'ge':
        return actual >= expected;
      case 'lt':
        return actual < expected;
      case 'le':
        return actual <= expected;
      default:
        return false;
    }
  }
  if (typeof actual !== 'string') return op === 'ne';
  const a = caseExact ? actual : actual.toLowerCase();
  const e = caseExact ? expected : expected.toLowerCase();
  switch (op) {
    case 'eq':
      return a === e;
    case 'ne':
      return a !== e;
    case 'co':
      return a.includes(e);
    case 'sw':
      return a.startsWith(e);
    case 'ew':
      return a.endsWith(e);
    case 'gt':
      return a > e;
    case 'ge':
      return a >= e;
    case 'lt':
      return a < e;
    case 'le':
      return a <= e;
  }
}

/** Does `resource` match `filter`? */
export function matches(
  filter: Filter,
  resource: Record<string, unknown>,
  access: AttributeAccess = genericAccess,
): boolean {
  switch (filter.op) {
    case 'and':
      return matches(filter.left, resource, access) && matches(filter.right, resource, access);
    case 'or':
      return matches(filter.left, resource, access) || matches(filter.right, resource, access);
    case 'not':
      return !matches(filter.filter, resource, access);
    case 'pr':
      return access
        .values(resource, filter.path)
        .some((v) => v !== null && v !== '' && !(Array.isArray(v) && v.length === 0));
    case 'valuePath': {
      const items = access.values(resource, { ...filter.path, sub: undefined });
      return items.some(
        (item) =>
          item !== null &&
          typeof item === 'object' &&
          matches(filter.filter, item as Record<string, unknown>, genericAccess),
      );
    }
    default: {
      const values = access.values(resource, filter.path);
      const exact = access.caseExact(filter.path);
      if (filter.op === 'ne') return values.length === 0 || values.every((v) => compare('ne', v, filter.value, exact));
      return values.some((v) => compare(filter.op as CompareOp, v, (filter as { value: CompValue }).value, exact));
    }
  }
}

/** `attr eq "value"` on one top-level attribute, which a store can answer from an index. */
export function simpleEquality(filter: Filter): { attr: string; value: string } | undefined {
  if (filter.op !== 'eq' || filter.path.schema || filter.path.sub || typeof filter.value !== 'string') return undefined;
  return { attr: filter.path.attr.toLowerCase(), value: filter.value };
}
