import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV_VARIABLES, loadConfig, parseFileConfig } from '@tollgate/config';
import { parse as parseYaml } from 'yaml';

// Checks that the files users copy from (compose, example config, nest-cli.json, README, CI) stay true to the code.
const root = join(import.meta.dirname, '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

interface ComposeService {
  command?: string[];
  environment?: Record<string, string>;
}

describe('docker-compose.yml', () => {
  const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };
  const tollgateServices = Object.entries(compose.services).filter(([, s]) => s.command?.[1]?.startsWith('dist/apps/'));

  it('runs every deployed service: keys, identity and two authz replicas', () => {
    const entries = tollgateServices.map(([, s]) => s.command?.[1]);
    expect(entries).toEqual(
      expect.arrayContaining([
        'dist/apps/keys/src/main.js',
        'dist/apps/identity/src/main.js',
        'dist/apps/authz/src/main.js',
      ]),
    );
    expect(entries.filter((e) => e === 'dist/apps/authz/src/main.js')).toHaveLength(2);
    for (const entry of entries)
      expect(existsSync(join(root, entry!.replace(/^dist\//, '').replace(/\.js$/, '.ts')))).toBe(true);
  });

  it.each(['keys', 'identity', 'authz-1', 'authz-2'])(
    'gives %s only variables the code reads, with valid values',
    (name) => {
      const environment = compose.services[name]?.environment ?? {};
      expect(Object.keys(environment).length).toBeGreaterThan(0);
      for (const variable of Object.keys(environment)) expect(ENV_VARIABLES).toContain(variable);
      const env = Object.fromEntries(
        Object.entries(environment)
          .filter(([k]) => k !== 'TOLLGATE_CONFIG')
          // A placeholder every variable accepts: 44 characters, and 32 bytes in base64 (the KEK's form).
          .map(([k, v]) => [k, String(v).replace(/\$\{[^}]+\}/g, Buffer.alloc(32, 7).toString('base64'))]),
      );
      const config = loadConfig(env);
      expect(config.kafka?.brokers).toEqual(['kafka:9092']);
      expect(config.databaseUrl).toMatch(/^postgres:\/\/tollgate:/);
    },
  );

  it('gives the services that hold signing keys (keys, identity) a required key-encryption key, and no one else', () => {
    for (const name of ['keys', 'identity'])
      expect(compose.services[name]?.environment?.TOLLGATE_KEY_ENCRYPTION_KEY).toMatch(
        /^\$\{TOLLGATE_KEY_ENCRYPTION_KEY:\?/,
      );
    for (const name of ['authz-1', 'authz-2'])
      expect(compose.services[name]?.environment?.TOLLGATE_KEY_ENCRYPTION_KEY).toBeUndefined();
  });

  it('gives the authz replicas distinct replica ids', () => {
    const ids = ['authz-1', 'authz-2'].map((n) => compose.services[n]?.environment?.TOLLGATE_REPLICA_ID);
    expect(new Set(ids).size).toBe(2);
  });
});

describe('deploy/examples/tollgate.yaml', () => {
  it('is a valid TOLLGATE_CONFIG', () => {
    const config = parseFileConfig(read('deploy/examples/tollgate.yaml'), 'tollgate.yaml');
    expect(config.trustedIssuers).toHaveLength(2);
    expect(config.idpConnectors[0]?.id).toBe('corp');
    expect(config.trustedIssuers[1]?.idpConnector).toBe('corp');
  });
});

describe('nest-cli.json', () => {
  const nest = JSON.parse(read('nest-cli.json')) as { monorepo: boolean; projects: Record<string, { root: string }> };
  const roots = Object.values(nest.projects).map((p) => p.root);

  it('is in monorepo mode and lists every app and lib', () => {
    expect(nest.monorepo).toBe(true);
    for (const folder of ['apps', 'libs']) {
      for (const name of readdirSync(join(root, folder))) {
        if (existsSync(join(root, folder, name, 'src'))) expect(roots).toContain(`${folder}/${name}`);
      }
    }
  });

  it('lists no folder that does not exist', () => {
    for (const projectRoot of roots) expect(existsSync(join(root, projectRoot))).toBe(true);
  });
});

describe('README and CI', () => {
  it('shows exactly the two quick-start commands, and CI runs the second', () => {
    const readme = read('README.md');
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm ci && npm test');
    const ci = read('.ci/run');
    expect(ci).toContain('set -euo pipefail');
    expect(ci).toMatch(/^npm ci && npm test$/m);
  });

  it('documents every environment variable in the configuration table', () => {
    const readme = read('README.md');
    for (const variable of ENV_VARIABLES) expect(readme).toContain(`\`${variable}\``);
  });
});
