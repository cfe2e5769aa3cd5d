import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AccessModelModule } from '@tollgate/access-model';
import { loadConfig } from '@tollgate/config';
import { IdentityModule } from '@tollgate/identity';
import { KeysModule } from '@tollgate/keys';
import { httpClient } from '../../../test/support/http';
import { startTestApp, type TestApp } from '../../../test/support/test-app';
import { type CliContext, runCli } from './cli';
import { EXIT } from './cli-errors';
import { createOutput } from './output';

const ADMIN = 'bootstrap-admin-credential-for-the-cli-revoke-test-01';

/** `tollgate keys revoke` and `keys rotate` against a running keys service: one API call each, its report printed. */
describe('tollgate keys revoke (real keys service, real PostgreSQL)', () => {
  let app: TestApp;

  const cli = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const context = (json: boolean): CliContext => ({
      config: loadConfig({}),
      out: createOutput(json, (t) => void out.push(t)),
      database: async () => {
        throw new Error('keys revoke needs no database');
      },
      readStdin: async () => '',
    });
    const code = await runCli([...args, '--url', app.url, '--key', ADMIN], context, (t) => void err.push(t));
    return { code, out: out.join(''), err: err.join('') };
  };

  beforeAll(async () => {
    // Identity runs too: its heartbeats are what lets the keys service prove that a deployment it does not
    // know is unknown (404) rather than not applied yet (503).
    app = await startTestApp(
      (ctx) => [AccessModelModule.forRoot(ctx), KeysModule.forRoot(ctx), IdentityModule.forRoot(ctx)],
      {
        env: { TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN },
      },
    );
  });

  afterAll(async () => {
    await app?.close();
  });

  it('--dry-run lists, then one call revokes every key in one transaction and prints the report', async () => {
    const call = httpClient(app.url);
    const created: string[] = [];
    for (const name of ['a', 'b']) {
      const r = await call('POST', '/v1/keys', { auth: ADMIN, body: { name, scope: 'inference' } });
      expect(r.status).toBe(201);
      created.push(r.body.keyId);
    }
    const dry = await cli(['keys', 'revoke', '--user', 'usr_admin', '--dry-run', '--json']);
    expect(dry.code).toBe(EXIT.ok);
    const planned = JSON.parse(dry.out);
    expect(planned.dryRun).toBe(true);
    expect(planned.keys.map((k: { keyId: string }) => k.keyId)).toEqual(created);
    const listed = await call('GET', '/v1/keys', { auth: ADMIN });
    expect(listed.body.keys.every((k: { status: string }) => k.status === 'active')).toBe(true);

    const done = await cli(['keys', 'revoke', '--user', 'usr_admin']);
    expect(done.code).toBe(EXIT.ok);
    expect(done.out).toContain('revoked 2 key(s)');
    for (const keyId of created) expect(done.out).toContain(keyId);
    const after = await call('GET', '/v1/keys', { auth: ADMIN });
    expect(after.body.keys.map((k: { status: string }) => k.status)).toEqual(['revoked', 'revoked']);
    expect((await cli(['keys', 'revoke', '--user', 'usr_admin'])).out).toContain('revoked 0 key(s)');
  });

  it('tollgate keys rotate: prints the successor and its secret once; the old key stops at once with overlap 0', async () => {
    const call = httpClient(app.url);
    const created = await call('POST', '/v1/keys', { auth: ADMIN, body: { name: 'ci', scope: 'management' } });
    expect(created.status).toBe(201);
    const rotated = await cli(['keys', 'rotate', created.body.keyId, '--overlap-seconds', '0', '--json']);
    expect(rotated.code).toBe(EXIT.ok);
    const answer = JSON.parse(rotated.out);
    expect(answer).toMatchObject({ rotatedFrom: created.body.keyId, name: 'ci', scope: 'management' });
    expect(answer.key).toMatch(/^tgm_/);
    expect(answer.eventIds).toHaveLength(2);
    // The successor works, the old key no longer does (its expiry is now).
    expect((await call('GET', '/v1/keys', { auth: answer.key })).status).toBe(200);
    expect((await call('GET', '/v1/keys', { auth: created.body.key })).status).toBe(401);

    const text = await cli(['keys', 'rotate', answer.keyId]);
    expect(text.code).toBe(EXIT.ok);
    expect(text.out).toContain(`rotated ${answer.keyId} -> `);
    expect(text.out).toMatch(/secret \(shown once, store it now\): tgm_/);
    // A second rotation of the same key is refused (409, exit failed) and names the successor.
    const again = await cli(['keys', 'rotate', answer.keyId]);
    expect(again.code).toBe(EXIT.failed);
    expect(again.err).toContain('409');
  });

  it('tollgate keys rotate: a bad --overlap-seconds is a usage error; an unknown key is not found', async () => {
    for (const bad of ['-1', '1.5', 'soon', '604801'])
      expect((await cli(['keys', 'rotate', 'key_x', '--overlap-seconds', bad])).code).toBe(EXIT.usage);
    expect((await cli(['keys', 'rotate', 'key_doesnotexist00000'])).code).toBe(EXIT.notFound);
  });

  it('usage: exactly one selector (exit 2); an unknown deployment is not found (exit 3)', async () => {
    expect((await cli(['keys', 'revoke'])).code).toBe(EXIT.usage);
    expect((await cli(['keys', 'revoke', '--user', 'a', '--group', 'b'])).code).toBe(EXIT.usage);
    expect((await cli(['keys', 'revoke', '--deployment', 'dep_nope'])).code).toBe(EXIT.notFound);
  });
});
