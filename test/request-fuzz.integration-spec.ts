import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { AccessModelModule } from '@tollgate/access-model';
import { AuthzModule } from '@tollgate/authz';
import { IdentityModule } from '@tollgate/identity';
import { KeysModule } from '@tollgate/keys';
import { eventually } from './support';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * Property-based fuzzing of every operation of the product's OpenAPI document (issue 13 item 6): random
 * wrong types, nulls, huge and odd strings, NUL and lone surrogates, prototype keys, in bodies, path and
 * query parameters, sent with credentials that pass authentication so the input reaches the handlers and
 * PostgreSQL. Whatever is sent, the answer is never a 5xx and never carries a stack trace, and the process
 * (its prototypes included) is unharmed. Bounded: RUNS_PER_OPERATION requests per operation.
 */
const RUNS_PER_OPERATION = 8;
const CONCURRENT_OPERATIONS = 4;
const ADMIN = 'bootstrap-admin-credential-for-the-request-fuzzer-0001';
const SCIM_TOKEN = 'scim-token-of-the-request-fuzzer-connector-000001';

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  nullable?: boolean;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  $ref?: string;
};
interface Operation {
  method: string;
  path: string;
  pathParams: string[];
  queryParams: string[];
  body?: Schema;
}
interface OpenApi {
  paths: Record<string, Record<string, { parameters?: { in: string; name: string }[]; requestBody?: unknown }>>;
  components?: { schemas?: Record<string, Schema> };
}

// ---- hostile values ----

const oddStrings = fc.constantFrom(
  '',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00',
  '\ude00\ud83d',
  '😀',
  '__proto__',
  'constructor',
  'prototype',
  '../../etc/passwd',
  '%00',
  '%2F..%2F',
  "'; DROP TABLE events; --",
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  'usr_00000000000000000000',
  '-1',
  '1e309',
  'true',
  'null',
  ' ',
  '\\',
  '\r\nX-Injected: 1',
);
const hugeString = fc.integer({ min: 1_000, max: 64_000 }).map((n) => 'x'.repeat(n));
const hostileString = fc.oneof(
  { weight: 4, arbitrary: oddStrings },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: hugeString },
);
const hostileScalar = fc.oneof(
  hostileString,
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, -1, 0, 1e308),
);
const anything: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileScalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileString, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** A value shaped like `schema` (so it passes the shape checks and reaches deeper code) but made of hostile parts. */
function fromSchema(schema: Schema | undefined, doc: OpenApi, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 4) return anything;
  if (schema.$ref) return fromSchema(doc.components?.schemas?.[schema.$ref.split('/').pop()!], doc, depth + 1);
  const variants = schema.anyOf ?? schema.oneOf ?? schema.allOf;
  if (variants?.length) return fc.oneof(...variants.map((s) => fromSchema(s, doc, depth + 1)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  let shaped: fc.Arbitrary<unknown>;
  if (schema.enum?.length) shaped = fc.constantFrom(...schema.enum);
  else if (type === 'object' || schema.properties) {
    const properties = schema.properties ?? {};
    shaped = fc.record(
      Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, fromSchema(s, doc, depth + 1)])),
      { requiredKeys: (schema.required ?? []).filter((k) => k in properties) },
    );
  } else if (type === 'array') shaped = fc.array(fromSchema(schema.items, doc, depth + 1), { maxLength: 3 });
  else if (type === 'integer') shaped = fc.oneof(fc.integer(), fc.constantFrom(0, -1, 2 ** 31, 2 ** 53));
  else if (type === 'number') shaped = fc.double();
  else if (type === 'boolean') shaped = fc.boolean();
  else shaped = hostileString;
  // Mostly the right shape with hostile content; sometimes the wrong type or null altogether.
  return fc.oneof(
    { weight: 6, arbitrary: shaped },
    { weight: 1, arbitrary: hostileScalar },
    { weight: 1, arbitrary: anything },
  );
}

/** The JSON text of a body, sometimes with a prototype key spliced into its first object (JSON.stringify never writes one). */
const bodyText = (value: fc.Arbitrary<unknown>) =>
  fc
    .tuple(
      value,
      fc.constantFrom(null, '"__proto__":{"polluted":"yes"}', '"constructor":{"prototype":{"polluted":"yes"}}'),
    )
    .map(([v, inject]) => {
      const text = JSON.stringify(v) ?? 'null';
      if (inject === null) return text;
      const at = text.indexOf('{');
      return at === -1
        ? `{${inject}}`
        : `${text.slice(0, at + 1)}${inject}${text[at + 1] === '}' ? '' : ','}${text.slice(at + 1)}`;
    });

/** Percent-encodes any string, lone surrogates included (as their WTF-8 bytes), which encodeURIComponent refuses. */
function encode(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff)
      out += [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    else out += encodeURIComponent(ch);
  }
  return out;
}

// ---- the product ----

/**
 * A 503 with `Retry-After` is a designed answer about load or freshness (the authorizer sheds load or fails
 * closed, CONTRACT section 2), not a fault caused by the input.
 */
const designedUnavailable = (res: Response) => res.status === 503 && res.headers.has('retry-after');

function operationsOf(doc: OpenApi): Operation[] {
  const methods = ['get', 'put', 'post', 'delete', 'patch'];
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => methods.includes(method))
      .map(([method, op]) => {
        const content = (op.requestBody as { content?: Record<string, { schema?: Schema }> } | undefined)?.content;
        return {
          method: method.toUpperCase(),
          path,
          pathParams: [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!),
          queryParams: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
          body: content ? (Object.values(content)[0]?.schema ?? {}) : undefined,
        };
      }),
  );
}

function requestOf(op: Operation, doc: OpenApi) {
  return fc.record({
    params: fc.tuple(...op.pathParams.map(() => hostileString)),
    query: fc.array(fc.tuple(fc.constantFrom(...op.queryParams, '__proto__', 'x'), hostileString), { maxLength: 3 }),
    body:
      op.body || op.method !== 'GET'
        ? fc.option(bodyText(fromSchema(op.body, doc)), { nil: undefined })
        : fc.constant(undefined),
    auth: fc.constantFrom(ADMIN, SCIM_TOKEN, undefined),
    contentType: fc.constantFrom('application/json', 'application/scim+json', 'application/json', 'text/plain'),
  });
}

describe('no request makes a 5xx or shows a stack trace (property-based, every OpenAPI operation)', () => {
  let app: TestApp;
  let doc: OpenApi;
  let operations: Operation[];

  beforeAll(async () => {
    app = await startTestApp(
      (ctx) => [
        AccessModelModule.forRoot(ctx),
        KeysModule.forRoot(ctx),
        IdentityModule.forRoot(ctx),
        AuthzModule.forRoot(ctx),
      ],
      {
        env: { TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN, GRPC_PORT: '0' },
        configure: (config) => ({
          ...config,
          idpConnectors: [
            {
              id: 'corp',
              webhookSecrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
              scimBearerTokenHash: createHash('sha256').update(SCIM_TOKEN).digest('hex'),
            },
          ],
        }),
      },
    );
    doc = (await (await fetch(`${app.url}/docs-json`)).json()) as OpenApi;
    operations = operationsOf(doc);
    await eventually(async () => expect((await fetch(`${app.url}/health/ready`)).status).toBe(200));
  }, 90_000);

  afterAll(async () => {
    await app?.close();
  });

  it('finds the operations of every service in the document', () => {
    const paths = operations.map((o) => `${o.method} ${o.path}`);
    for (const expected of [
      'POST /v1/authorize',
      'POST /v1/projects',
      'POST /scim/v2/Users',
      'POST /v1/idp/{idp}/webhooks',
    ])
      expect(paths).toContain(expected);
  });

  it('answers every fuzzed request below 500 and without a stack trace', async () => {
    const failures: string[] = [];
    let sent = 0;
    // A few operations at a time: the app serves concurrent callers, and the run stays short.
    const fuzz = async (op: Operation) => {
      await fc
        .assert(
          fc.asyncProperty(requestOf(op, doc), async (r) => {
            let path = op.path;
            op.pathParams.forEach((name, i) => (path = path.replace(`{${name}}`, encode(r.params[i]!))));
            const query = r.query.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&');
            const headers: Record<string, string> = {};
            if (r.auth) headers.authorization = `Bearer ${r.auth}`;
            if (r.body !== undefined) headers['content-type'] = r.contentType;
            const res = await fetch(`${app.url}${path}${query ? `?${query}` : ''}`, {
              method: op.method,
              headers,
              body: r.body,
            });
            const text = await res.text();
            sent++;
            const what = `${op.method} ${path}${query ? `?${query}` : ''} ${r.body?.slice(0, 200) ?? ''} → ${res.status} ${text.slice(0, 200)}`;
            if ((res.status >= 500 && !designedUnavailable(res)) || /\n\s+at |node_modules|\.[jt]s:\d+/.test(text)) {
              failures.push(what);
              return false;
            }
            return true;
          }),
          { numRuns: RUNS_PER_OPERATION, endOnFailure: true },
        )
        .catch(() => undefined); // collected in `failures`, so one run names every failing operation
    };
    for (let i = 0; i < operations.length; i += CONCURRENT_OPERATIONS)
      await Promise.all(operations.slice(i, i + CONCURRENT_OPERATIONS).map(fuzz));
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(operations.length * RUNS_PER_OPERATION);
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
    expect((await fetch(`${app.url}/metrics`)).status).toBe(200);
  }, 120_000);
});
