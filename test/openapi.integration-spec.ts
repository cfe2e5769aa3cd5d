import SwaggerParser from '@apidevtools/swagger-parser';
import { AccessModelModule } from '@tollgate/access-model';
import { AuthzModule } from '@tollgate/authz';
import { IdentityModule } from '@tollgate/identity';
import { KeysModule } from '@tollgate/keys';
import { startTestApp, type TestApp } from './support/test-app';

// The whole product's OpenAPI document (`/docs-json` of `npm start`), checked by a validator of the spec
// itself, so code generators and gateways that import it accept it.
describe('the OpenAPI document', () => {
  let app: TestApp;
  let doc: { openapi: string; paths: Record<string, Record<string, unknown>> };

  beforeAll(async () => {
    app = await startTestApp((ctx) => [
      AccessModelModule.forRoot(ctx),
      KeysModule.forRoot(ctx),
      IdentityModule.forRoot(ctx),
      AuthzModule.forRoot(ctx),
    ]);
    doc = (await (await fetch(`${app.url}/docs-json`)).json()) as typeof doc;
  }, 60_000);

  afterAll(async () => {
    await app?.close();
  });

  it('is valid OpenAPI 3.x (swagger-parser validates it against the specification schema)', async () => {
    expect(doc.openapi).toMatch(/^3\./);
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
  });

  it('documents lastUsedAt, required and nullable, on every key listing and on one key', () => {
    /* eslint-disable @typescript-eslint/no-explicit-any */
    const key = (path: string, list: boolean): any => {
      const schema = (doc.paths[path]?.get as any)?.responses?.['200']?.content?.['application/json']?.schema;
      return list ? schema?.properties?.keys?.items : schema;
    };
    /* eslint-enable @typescript-eslint/no-explicit-any */
    for (const [path, list] of [
      ['/v1/keys', true],
      ['/v1/users/{userId}/keys', true],
      ['/v1/keys/expiring', true],
      ['/v1/keys/{keyId}', false],
    ] as const) {
      const schema = key(path, list);
      expect(schema?.required).toContain('lastUsedAt');
      expect(schema?.properties?.lastUsedAt).toMatchObject({ nullable: true });
      expect(JSON.stringify(schema?.properties?.lastUsedAt)).toMatch(/date-time/);
    }
  });

  it('declares forward-auth with the methods a proxy sends, each an OpenAPI operation', () => {
    const operations = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
    const methods = Object.keys(doc.paths['/v1/forward-auth'] ?? {});
    expect(methods.length).toBeGreaterThan(0);
    for (const method of methods) expect(operations).toContain(method);
  });

  it('declares the deployment probe with its body, answer and error statuses', () => {
    const probe = doc.paths['/v1/deployments/{deploymentId}/probe']?.post as
      { requestBody?: unknown; responses: Record<string, unknown> } | undefined;
    expect(probe?.requestBody).toBeDefined();
    expect(Object.keys(probe?.responses ?? {})).toEqual(
      expect.arrayContaining(['200', '400', '404', '409', '429', '502', '504']),
    );
  });
});
