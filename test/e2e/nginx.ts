import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { eventually, freePort } from '../support';

const root = join(import.meta.dirname, '..', '..');

/** Renders deploy/nginx/tollgate.conf.template the way envsubst does (only the named variables). */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{([A-Z_]+)\}/g, (whole, name: string) => values[name] ?? whole);
}

export interface RunningNginx {
  url: string;
  errorLog: () => Promise<string>;
  stop(): Promise<void>;
}

/** A model behind nginx: the deployment host it is served for, its upstream name and its server. */
export interface GatewayModel {
  host: string;
  name: string;
  server: string;
}

/**
 * Starts Debian's nginx (installed by deploy/nginx/ensure-nginx.sh when missing) with the shipped templates,
 * in a temp prefix, on a free loopback port: deploy/nginx/tollgate.conf.template once, and
 * deploy/nginx/tollgate-model.conf.template once per model, as an operator renders them.
 */
export async function startNginx(
  authz: string,
  models: readonly GatewayModel[],
  /** A port chosen beforehand (e.g. to give the product as `TOLLGATE_GATEWAY_URL`); default a free one. */
  options: { port?: number } = {},
): Promise<RunningNginx> {
  execFileSync(join(root, 'deploy/nginx/ensure-nginx.sh'), { stdio: 'inherit' });
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-nginx-'));
  const port = options.port ?? (await freePort());
  const listen = `127.0.0.1:${port}`;
  const main = await readFile(join(root, 'deploy/nginx/tollgate.conf.template'), 'utf8');
  const perModel = await readFile(join(root, 'deploy/nginx/tollgate-model.conf.template'), 'utf8');
  const server = [
    renderTemplate(main, { TOLLGATE_AUTHZ: authz, LISTEN: listen }),
    ...models.map((m) =>
      renderTemplate(perModel, { MODEL_HOST: m.host, MODEL_NAME: m.name, MODEL_SERVER: m.server, LISTEN: listen }),
    ),
  ].join('\n');
  await writeFile(join(dir, 'tollgate.conf'), server);
  await writeFile(
    join(dir, 'nginx.conf'),
    [
      'daemon off;',
      ...(userInfo().uid === 0 ? ['user root;'] : []),
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      'events { worker_connections 512; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`),
      `  include ${dir}/tollgate.conf;`,
      '}',
      '',
    ].join('\n'),
  );
  const nginx = process.env.NGINX_BIN ?? 'nginx';
  const child: ChildProcess = spawn(nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: `${process.env.PATH}:/usr/sbin` },
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
      await fetch(`${url}/_probe`, { headers: { host: 'probe' } });
    },
    { timeoutMs: 15_000, intervalMs: 100 },
  );
  return {
    url,
    errorLog: () => readFile(join(dir, 'error.log'), 'utf8').catch(() => ''),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGQUIT');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
