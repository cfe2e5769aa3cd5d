import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './support';

// The Node examples say what is wrong in one line (no stack trace): a missing key, a refusal, no gateway.
// That they work through a real gateway is test/e2e/gateway.e2e-spec.ts.
const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const EXAMPLES = ['openai-client.mjs', 'langchain.mjs'];

async function runExample(script: string, env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(root, 'examples', script)], {
      env: { PATH: process.env.PATH, ...env },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('examples/*.mjs', () => {
  let gateway: Server;
  let url: string;

  beforeAll(async () => {
    // A gateway that refuses like nginx in front of Tollgate: 403 with Tollgate's reason header.
    gateway = createServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json', 'x-ext-auth-reason': 'group-not-granted' });
      res.end('{"allowed":false,"status":403,"reason":"group-not-granted","message":"denied"}');
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(gateway.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => gateway.close(resolve));
  });

  it.each(EXAMPLES)('%s without a key: exit 2, names the variable and shows the usage', async (script) => {
    const result = await runExample(script, { GATEWAY_URL: url });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${script}: set TOLLGATE_KEY, for example:`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it.each(EXAMPLES)('%s refused: exit 1 with the status and the reason', async (script) => {
    const result = await runExample(script, { GATEWAY_URL: url, TOLLGATE_KEY: 'tgi_not-granted' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('refused: 403 group-not-granted');
  });

  it.each(EXAMPLES)('%s with no gateway listening: exit 1, says it cannot reach it', async (script) => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const result = await runExample(script, { GATEWAY_URL: nobody, TOLLGATE_KEY: 'tgi_x' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^cannot reach ${nobody}: .*ECONNREFUSED`));
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
