import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envoyCheckRequest, extAuthzClient } from '../../libs/authz/src/testing/grpc-client';
import { freePort } from '../support';
import { parseDockerfile, reproduceImage, runtimeLayout } from './image-layout';
import { runToExit, startProduct, type ProductProcess } from './product-process';

// deploy/docker/Dockerfile's runtime stage, reproduced file for file (no Docker engine needed): every entry
// point must load from it, and the all-in-one product must become ready with its gRPC door listening.
describe('the container image layout', () => {
  let layout: string;

  beforeAll(async () => {
    layout = await mkdtemp(join(tmpdir(), 'tollgate-image-'));
    reproduceImage(layout);
  });

  afterAll(async () => {
    await rm(layout, { recursive: true, force: true });
  });

  it('is read from the runtime stage of the Dockerfile', () => {
    const entries = runtimeLayout();
    expect(entries.map((entry) => entry.imagePath)).toEqual(expect.arrayContaining(['dist', 'node_modules']));
    expect(entries.find((entry) => entry.repoPath === 'node_modules')?.productionOnly).toBe(true);
    // The parser sees a missing COPY as missing (the failure this test exists for).
    const without = parseDockerfile(
      'FROM a AS build\nWORKDIR /app\nCOPY . .\nFROM b\nWORKDIR /app\nCOPY --from=build /app/dist ./dist\n',
    );
    expect(without.at(-1)!.copies).toEqual([
      { from: 'build', sources: ['/app/dist'], dest: '/app/dist', intoFolder: false },
    ]);
    expect(existsSync(join(layout, 'deploy', 'envoy', 'proto', 'envoy', 'service', 'auth', 'v3'))).toBe(true);
    expect(existsSync(join(layout, 'node_modules', 'jest'))).toBe(false); // pruned: no devDependencies
  });

  it.each(['keys', 'identity', 'authz'])(
    '%s loads every module it imports (bad config: exit 1, named)',
    async (app) => {
      const result = await runToExit(app, { PORT: 'eighty' }, 30_000, { from: layout });
      expect(result.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find/);
      expect(result.stderr).toMatch(/invalid configuration[\s\S]*PORT/);
      expect(result.code).toBe(1);
    },
  );

  it('the CLI loads and answers --help', async () => {
    const result = await runToExit('ops', {}, 30_000, { from: layout, args: ['--help'] });
    expect(result.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find/);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('tollgate migrate');
  });

  it('the demo model server starts', async () => {
    const child = spawn(process.execPath, [join(layout, 'dist', 'apps', 'demo-model', 'src', 'main.js'), '0'], {
      cwd: layout,
    });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const listening = new Promise<boolean>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('demo model listening on')) resolve(true);
      });
      void exited.then(() => resolve(false));
    });
    expect(await listening).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  describe('the all-in-one product with the gRPC door on', () => {
    let product: ProductProcess;
    let grpcPort: number;

    beforeAll(async () => {
      grpcPort = await freePort();
      product = await startProduct(
        'tollgate',
        { GRPC_PORT: String(grpcPort), NODE_ENV: 'production', HOST: '127.0.0.1' },
        90_000,
        layout,
      );
    }, 120_000);

    afterAll(async () => {
      await product?.stop();
    });

    it('is ready, gRPC door included, and answers an Envoy Check from the vendored protos', async () => {
      const ready = (await (await fetch(`${product.url}/health/ready`)).json()) as {
        details: Record<string, { status: string }>;
      };
      expect(ready.details['ext-authz-grpc']?.status).toBe('up');
      const client = await extAuthzClient(`127.0.0.1:${grpcPort}`);
      try {
        const response = await client.check(envoyCheckRequest({ host: 'nobody.example', path: '/v1/chat' }));
        expect(response.status?.code).toBe(5); // NOT_FOUND: a host no deployment serves
      } finally {
        client.close();
      }
    });

    it('serves the web console from the image’s files (issue 15)', async () => {
      const page = await fetch(`${product.url}/console/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('/console/app.js');
      const script = await fetch(`${product.url}/console/app.js`);
      expect(script.status).toBe(200);
      expect((await script.text()).length).toBeGreaterThan(1000);
    });
  });
});
