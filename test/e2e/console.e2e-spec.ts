import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startDemoModel } from '../../apps/demo-model/src/demo-model';
import { startTestIssuer, type TestIssuer } from '../../libs/identity/src/testing/oidc-issuer';
import { eventually, freePort } from '../support';
import { launchChromium, screenshot, seriousA11yViolations } from './browser';
import { startNginx, type RunningNginx } from './nginx';
import { startProduct, type ProductProcess } from './product-process';

// The web console in a real browser (issue 15): Debian's chromium driven by playwright-core against the built
// product (embedded mode), a real OpenID provider for IdP sign-in, and nginx in front of the demo model for
// the keys a user creates in the console. One product, one browser for the whole file.
const ADMIN = 'e2e-console-bootstrap-admin-credential-0123';
const TIMEOUT = 60_000;

describe('the web console in a real browser', () => {
  let issuer: TestIssuer;
  let product: ProductProcess;
  let demo: Awaited<ReturnType<typeof startDemoModel>>;
  let nginx: RunningNginx;
  let browser: Browser;
  let configDir: string;
  const ids: Record<string, string> = {};
  let aliceManagementKey = '';

  async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, auth = ADMIN) {
    const res = await fetch(`${product.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${auth}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = (await res.json()) as T;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  const chat = (key: string) =>
    fetch(`${nginx.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'demo-llm', messages: [{ role: 'user', content: 'hi' }] }),
    });

  /** A fresh browser context (its own cookies and clipboard) on the console. */
  async function openConsole(
    viewport = { width: 1280, height: 900 },
  ): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: product.url });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    // Any Content-Security-Policy report in the console would mean the page needed something the policy forbids.
    page.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) errors.push(msg.text());
    });
    (page as Page & { errors?: string[] }).errors = errors;
    await page.goto(`${product.url}/`);
    return { context, page };
  }

  async function signInWithKey(page: Page, key: string) {
    await page.getByRole('textbox', { name: 'Management key' }).fill(key);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Me', level: 1 }).waitFor();
  }

  async function expectAccessible(page: Page) {
    expect(await seriousA11yViolations(page)).toEqual([]);
    expect((page as Page & { errors?: string[] }).errors).toEqual([]);
  }

  beforeAll(async () => {
    const port = await freePort();
    const productUrl = `http://127.0.0.1:${port}`;
    const redirectUri = `${productUrl}/v1/idp/corp/console/callback`;
    issuer = await startTestIssuer({ redirectUris: [redirectUri] });
    configDir = await mkdtemp(join(tmpdir(), 'tollgate-console-e2e-'));
    const config = join(configDir, 'tollgate.json');
    await writeFile(
      config,
      JSON.stringify({
        idpConnectors: [
          {
            id: 'corp',
            oidc: {
              issuer: issuer.issuer,
              jwksUri: issuer.jwksUri,
              clientId: issuer.clientId,
              algorithms: ['RS256'],
              console: {
                redirectUri,
                clientSecret: issuer.clientSecret,
                scopes: ['openid', 'email', 'groups'],
                name: 'Corp SSO',
              },
            },
          },
        ],
      }),
    );
    // nginx's port is chosen first: the product probes deployments through it (the Test panel's model status).
    const gatewayPort = await freePort();
    product = await startProduct('tollgate', {
      PORT: String(port),
      TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN,
      TOLLGATE_CONFIG: config,
      TOLLGATE_GATEWAY_URL: `http://127.0.0.1:${gatewayPort}`,
    });
    demo = await startDemoModel();
    nginx = await startNginx(
      new URL(product.url).host,
      [{ host: '127.0.0.1', name: 'console_model', server: new URL(demo.url).host }],
      { port: gatewayPort },
    );
    browser = await launchChromium();

    ids.alice = (await api<{ id: string }>('POST', '/v1/users', { name: 'alice', kind: 'internal' })).id;
    ids.bob = (await api<{ id: string }>('POST', '/v1/users', { name: 'bob', kind: 'machine' })).id;
    aliceManagementKey = (
      await api<{ key: string }>('POST', `/v1/users/${ids.alice}/keys`, { name: 'console', scope: 'management' })
    ).key;
    ids.project = (await api<{ id: string }>('POST', '/v1/projects', { name: 'chatbots' })).id;
    await api('PUT', `/v1/projects/${ids.project}/collaborators/${ids.alice}`, { role: 'owner' });
    ids.deployment = (
      await api<{ id: string }>('POST', '/v1/deployments', {
        projectId: ids.project,
        name: 'demo-llm',
        hosts: ['127.0.0.1'],
        grantedGroups: ['ml-team'],
      })
    ).id;
    issuer.account('00u-carol', { groups: ['ml-team'], email: 'carol@example.com' });
    // Generous: a first run installs Debian's chromium (and nginx) with apt-get.
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await nginx?.stop();
    await demo?.close();
    await product?.stop();
    await issuer?.close();
    if (configDir) await rm(configDir, { recursive: true, force: true });
  }, 60_000);

  it(
    'signs in with a management key; a key created and copied in the console reaches the model through nginx, and is refused once revoked there',
    async () => {
      expect(product.stderr()).toContain(`Console: ${product.url}/console/`);
      const { context, page } = await openConsole();
      expect(page.url()).toBe(`${product.url}/console/`);
      await page.getByRole('link', { name: 'Sign in with Corp SSO' }).waitFor();
      await screenshot(page, '01-sign-in');
      await expectAccessible(page);

      // A wrong key: the API's message, in words.
      await page.getByRole('textbox', { name: 'Management key' }).fill('tgm_notakey');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await expect(page.getByRole('alert').textContent()).resolves.toMatch(/\w+ \w+/);

      await signInWithKey(page, aliceManagementKey);
      await page.getByLabel('Key name').fill('notebook');
      await page.getByRole('button', { name: 'Create key' }).click();
      const secret = (await page.getByTestId('secret').textContent())!.trim();
      expect(secret).toMatch(/^tgi_[0-9A-Za-z]{38}$/);
      await expect(page.getByText('This secret is shown only once').isVisible()).resolves.toBe(true);
      await page.getByRole('button', { name: 'Copy secret' }).click();
      await page.getByText('Copied').waitFor();
      const copied = (await page.evaluate('navigator.clipboard.readText()')) as string;
      expect(copied).toBe(secret);
      await screenshot(page, '02-me-new-key');
      await expectAccessible(page);

      const answer = await eventually(async () => {
        const res = await chat(copied);
        expect(res.status).toBe(200);
        return (await res.json()) as { tollgate_subject: string };
      });
      expect(answer.tollgate_subject).toBe(ids.alice);

      await page.getByRole('button', { name: 'I have stored it' }).click();
      await expect(page.getByTestId('secret').count()).resolves.toBe(0);
      await page.getByRole('button', { name: 'Revoke notebook' }).click();
      await page.getByRole('button', { name: 'Yes, revoke' }).click();
      await page.getByText('Key notebook revoked.').waitFor();
      await eventually(async () => {
        const res = await chat(copied);
        expect(res.status).toBe(401);
        expect(res.headers.get('x-ext-auth-reason')).toBe('key-revoked');
      });
      // The notice comes before the list's reload has rendered: wait for the row to say so.
      await eventually(async () =>
        expect(await page.locator('tr', { hasText: 'notebook' }).getByRole('cell', { name: 'revoked' }).count()).toBe(
          1,
        ),
      );

      // Rotate a key: choose how long the old key keeps working, the new secret is shown once, the old key is
      // refused once the overlap ends (here at once) and the new one works.
      await page.getByLabel('Key name').fill('ci-bot');
      await page.getByRole('button', { name: 'Create key' }).click();
      const oldSecret = (await page.getByTestId('secret').textContent())!.trim();
      await page.getByRole('button', { name: 'I have stored it' }).click();
      await eventually(async () => expect((await chat(oldSecret)).status).toBe(200));
      await page.getByRole('button', { name: 'Rotate ci-bot' }).click();
      await page.getByLabel('Old key').selectOption('0');
      await page.getByRole('button', { name: 'Yes, rotate' }).click();
      await page.getByText(/Key ci-bot rotated: the old key stops working at/).waitFor();
      const newSecret = (await page.getByTestId('secret').textContent())!.trim();
      expect(newSecret).toMatch(/^tgi_[0-9A-Za-z]{38}$/);
      expect(newSecret).not.toBe(oldSecret);
      await eventually(async () => expect((await chat(newSecret)).status).toBe(200));
      await eventually(async () => {
        const res = await chat(oldSecret);
        expect(res.status).toBe(401);
        expect(res.headers.get('x-ext-auth-reason')).toMatch(/^key-(expired|revoked)$/);
      });
      await page.getByRole('button', { name: 'I have stored it' }).click();
      await eventually(async () => {
        expect(await page.locator('tr', { hasText: 'ci-bot' }).count()).toBe(2);
        expect(
          await page.locator('tr', { hasText: 'ci-bot' }).getByRole('cell', { name: 'active', exact: true }).count(),
        ).toBe(1);
      });

      // Rotated with an hour of overlap: the old key stays active, says when it stops, and offers no second
      // rotation (the API would answer 409): only its successor can be rotated.
      await page.getByRole('button', { name: 'Rotate ci-bot' }).click();
      await page.getByLabel('Old key').selectOption('3600');
      await page.getByRole('button', { name: 'Yes, rotate' }).click();
      await page.getByTestId('secret').waitFor();
      await page.getByRole('button', { name: 'I have stored it' }).click();
      await page
        .locator('tr', { hasText: 'ci-bot' })
        .getByText(/^rotated: stops /)
        .waitFor();
      await expect(page.locator('tr', { hasText: 'ci-bot' }).count()).resolves.toBe(3);
      await expect(page.getByRole('button', { name: 'Rotate ci-bot' }).count()).resolves.toBe(1);
      await expect(
        page.locator('tr', { hasText: 'rotated: stops' }).getByRole('button', { name: 'Rotate ci-bot' }).count(),
      ).resolves.toBe(0);

      // Usable at a phone's width, still accessible.
      await page.setViewportSize({ width: 390, height: 844 });
      await screenshot(page, '03-me-phone');
      await expectAccessible(page);

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'Sign in to Tollgate' }).waitFor();
      await context.close();
    },
    TIMEOUT * 2,
  );

  it(
    'an owner rotates an access key, and the Test panel shows allowed and refused decisions with reasons and the replica',
    async () => {
      const { context, page } = await openConsole();
      await signInWithKey(page, aliceManagementKey);
      await page.getByRole('link', { name: 'Projects' }).click();
      // A new project and deployment, made in the console, and a collaborator added to it.
      await page.getByLabel('Project name').fill('vision');
      await page.getByRole('button', { name: 'Create project' }).click();
      await page.getByRole('heading', { name: 'vision', level: 1 }).waitFor();
      await page.getByText('New deployment').click();
      await page.getByLabel('Deployment name').fill('resnet');
      await page.getByLabel('Hosts (comma-separated)').fill('vision.models.test');
      await page.getByLabel('Path prefixes (comma-separated)').fill('/v1/resnet');
      await page.getByLabel('jwt').uncheck();
      await page.getByRole('button', { name: 'Create deployment' }).click();
      await page.getByRole('heading', { name: 'resnet', level: 1 }).waitFor();
      await page.getByLabel('Granted groups (comma-separated)').fill('vision-team');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByText('Saved (version 2).').waitFor();
      const created = (await api<{ deployments: Record<string, unknown>[] }>('GET', '/v1/deployments?q=resnet'))
        .deployments[0]!;
      expect(created).toMatchObject({
        hosts: ['vision.models.test'],
        pathPrefixes: ['/v1/resnet'],
        credentialKinds: ['api-key', 'access-key', 'service-token'],
        grantedGroups: ['vision-team'],
      });
      await page.getByRole('link', { name: '← Project' }).click();
      await page.getByLabel('User id').fill(ids.bob!);
      await page.getByLabel('Role', { exact: true }).selectOption('viewer');
      await page.getByRole('button', { name: 'Add or change collaborator' }).click();
      await page.getByRole('rowheader', { name: ids.bob! }).waitFor();
      await screenshot(page, '04-project');
      await expectAccessible(page);

      await page.getByRole('link', { name: '← All projects' }).click();
      await page.getByRole('link', { name: 'chatbots' }).click();
      await page.getByRole('link', { name: 'demo-llm' }).click();
      await page.getByRole('heading', { name: 'demo-llm', level: 1 }).waitFor();

      const regenerate = async () => {
        await page.getByRole('button', { name: 'Regenerate primary' }).click();
        await page.getByRole('button', { name: 'Yes, regenerate primary' }).click();
        const key = (await page.getByTestId('secret').textContent())!.trim();
        expect(key).toMatch(/^tga_[0-9A-Za-z]{38}$/);
        await page.getByRole('button', { name: 'I have stored it' }).click();
        return key;
      };
      const test = async (credential: string | undefined) => {
        if (credential === undefined) await page.getByLabel('No credential').check();
        else {
          await page.getByLabel('A credential I paste').check();
          await page.getByLabel('Credential to test').fill(credential);
        }
        await page.getByRole('button', { name: 'Test', exact: true }).click();
        const decision = page.getByTestId('decision');
        await decision.waitFor();
        return {
          text: (await decision.textContent())!,
          reason: (await page.getByTestId('decision-reason').textContent())!,
        };
      };

      const first = await regenerate();
      const allowed = await eventually(async () => {
        const d = await test(first);
        expect(d.reason).toBe('access-key');
        return d;
      });
      expect(allowed.text).toMatch(/Allowed · status 200/);
      expect(allowed.text).toMatch(/Replica/);
      expect(allowed.text).toMatch(/Watermark age\d+ ms/);
      await expect(page.getByRole('table', { name: 'Rule trace' }).count()).resolves.toBe(1);
      await screenshot(page, '05-deployment-test-allowed');
      await expectAccessible(page);

      // Rotation: the first key stops working, the new one works.
      const second = await regenerate();
      const refused = await eventually(async () => {
        const d = await test(first);
        expect(d.reason).toBe('access-key-invalid');
        return d;
      });
      expect(refused.text).toMatch(/Refused · status 401/);
      await screenshot(page, '06-deployment-test-refused');
      await eventually(async () => expect((await test(second)).reason).toBe('access-key'));
      expect((await test(undefined)).reason).toBe('credential-missing');

      // The same request through nginx to the demo model (POST /v1/deployments/{id}/probe): its status code.
      const probe = page.getByTestId('probe');
      await page.getByLabel('Request method').selectOption('GET');
      await page.getByLabel('Request path').fill('/v1/models');
      expect((await test(second)).reason).toBe('access-key');
      await probe.waitFor();
      await expect(probe.textContent()).resolves.toMatch(/^Model answered 200 in \d+ ms\.$/);
      await screenshot(page, '06b-deployment-test-model-status');
      await expectAccessible(page);
      expect((await test(first)).reason).toBe('access-key-invalid');
      await probe.waitFor();
      await expect(probe.textContent()).resolves.toMatch(/^The gateway refused with 401 in \d+ ms, as decided\.$/);
      await context.close();
    },
    TIMEOUT * 2,
  );

  it(
    'an admin finds a user, deactivates them, and follows the revocation to every replica',
    async () => {
      const bobKey = (
        await api<{ key: string }>('POST', `/v1/users/${ids.bob}/keys`, { name: 'ci', scope: 'inference' })
      ).key;
      const { context, page } = await openConsole();
      await signInWithKey(page, ADMIN);
      await page.getByRole('link', { name: 'Admin' }).click();
      await page.getByLabel('Search name or email').fill('bo');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      const bobRow = page.locator(`tr[data-user-id="${ids.bob}"]`);
      await eventually(async () => expect(await page.locator('tbody tr[data-user-id]').count()).toBe(1));
      await expect(bobRow.getByRole('cell').nth(3).textContent()).resolves.toBe('1'); // active keys
      await screenshot(page, '07-admin');
      // Filters: admins only, then back to everyone.
      await page.getByLabel('Search name or email').fill('');
      await page.getByLabel('Admins', { exact: true }).selectOption('true');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await eventually(async () =>
        expect(
          await page
            .locator('tbody tr[data-user-id]')
            .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-user-id'))),
        ).toEqual(['usr_admin']),
      );
      await page.getByLabel('Admins', { exact: true }).selectOption('');
      await page.getByLabel('Search name or email').fill('bo');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await eventually(async () => expect(await page.locator('tbody tr[data-user-id]').count()).toBe(1));
      await expectAccessible(page);

      await bobRow.getByRole('button', { name: 'Deactivate bob' }).click();
      await page.getByRole('button', { name: 'Yes, deactivate' }).click();
      await page.getByText('bob is deactivated').waitFor();
      await eventually(async () => expect(await bobRow.getByRole('cell', { name: 'deactivated' }).count()).toBe(1));
      // The revocations view follows the deactivation until every replica applied it.
      await page.getByRole('button', { name: 'user bob deactivated' }).first().click();
      await eventually(async () =>
        expect(await page.getByTestId('applied-by-all').textContent()).toBe('applied by every replica'),
      );
      // The latest access-reducing events of the replica, from GET /v1/revocations.
      await page.getByRole('button', { name: 'Reload the latest' }).click();
      await page
        .getByRole('button', { name: /^Follow UserDeactivated evt_/ })
        .first()
        .click();
      await eventually(async () =>
        expect(await page.getByTestId('applied-by-all').textContent()).toBe('applied by every replica'),
      );
      await screenshot(page, '08-admin-revocations');
      await expectAccessible(page);
      // Admins only; a bad limit is 400 in words.
      const asAlice = await fetch(`${product.url}/v1/revocations`, {
        headers: { authorization: `Bearer ${aliceManagementKey}` },
      });
      expect(asAlice.status).toBe(403);
      const badLimit = await fetch(`${product.url}/v1/revocations?limit=0`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      expect(badLimit.status).toBe(400);
      await eventually(async () => {
        const res = await chat(bobKey);
        expect(res.status).toBe(401);
      });
      await context.close();
    },
    TIMEOUT * 2,
  );

  it(
    'signs in through the IdP (OIDC code flow with PKCE) and shows the groups and the deployments they open, with snippets',
    async () => {
      const { context, page } = await openConsole();
      await page.getByRole('link', { name: 'Sign in with Corp SSO' }).click();
      // oidc-provider's own login and consent pages.
      await page.locator('input[name="login"]').fill('00u-carol');
      await page.locator('input[name="password"]').fill('any');
      await page.locator('button[type="submit"]').click();
      await page.locator('button[type="submit"]').click();
      await page.getByRole('heading', { name: 'Me', level: 1 }).waitFor();
      expect(new URL(page.url()).search).toBe(''); // no sign-in marker left in the address bar
      await expect(page.getByText('corp:00u-carol').first().isVisible()).resolves.toBe(true);
      await page.getByText(/refreshed less than a minute ago/).waitFor();
      await page.getByRole('heading', { name: 'demo-llm', level: 3 }).waitFor();
      await page.getByText('Client snippets').click();
      await expect(page.locator('pre').first().textContent()).resolves.toContain(
        'curl https://127.0.0.1/v1/chat/completions',
      );
      await screenshot(page, '09-me-idp-sign-in');
      await expectAccessible(page);
      // Nothing about the session is kept where a script or a later visit could read it.
      const stored = await page.evaluate('({ local: localStorage.length, session: sessionStorage.length })');
      expect(stored).toEqual({ local: 0, session: 0 });
      const cookies = await context.cookies(product.url);
      expect(cookies.filter((c) => c.name.startsWith('tollgate_console'))).toEqual([]);
      // A reload forgets the in-memory session.
      await page.reload();
      await page.getByRole('heading', { name: 'Sign in to Tollgate' }).waitFor();
      await context.close();
    },
    TIMEOUT * 2,
  );

  it(
    'revoking all my keys, after a confirmation, ends a session signed in with one of them',
    async () => {
      const dave = (await api<{ id: string }>('POST', '/v1/users', { name: 'dave', kind: 'internal' })).id;
      const daveKey = (
        await api<{ key: string }>('POST', `/v1/users/${dave}/keys`, { name: 'cli', scope: 'management' })
      ).key;
      const { context, page } = await openConsole();
      await signInWithKey(page, daveKey);
      await page.getByRole('button', { name: 'Revoke all my keys' }).click();
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.getByRole('button', { name: 'Revoke all my keys' }).click();
      await page.getByRole('button', { name: 'Yes, revoke all' }).click();
      // The next call with the revoked key is refused: back to sign-in, saying why.
      await page.getByRole('heading', { name: 'Sign in to Tollgate' }).waitFor();
      await expect(page.getByRole('alert').textContent()).resolves.toMatch(/^Your session ended: .+revoked/);
      await context.close();
    },
    TIMEOUT,
  );
});
