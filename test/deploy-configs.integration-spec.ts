import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV_VARIABLES, loadConfig } from '@tollgate/config';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

// Envoy, Istio, Traefik and Kubernetes do not run on our machines: each shipped config is parsed and checked
// against the code (ports, paths, service names, environment variables, health endpoints), and for the
// property the nginx end-to-end test shows by running it: a gateway picks the model by the same host that
// Tollgate decides on, so a client cannot be authorized for one deployment's host and served by another model.
const root = join(import.meta.dirname, '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const defaults = loadConfig({});
/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = any;

describe('deploy/envoy/envoy.yaml', () => {
  const envoy: Doc = parseYaml(read('deploy/envoy/envoy.yaml'));
  const hcm = envoy.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  const extAuthz = hcm.http_filters.find((f: Doc) => f.name === 'envoy.filters.http.ext_authz');
  const clusters: Doc[] = envoy.static_resources.clusters;

  it('asks Tollgate over gRPC ext_authz v3 before the router, failing closed', () => {
    expect(extAuthz.typed_config['@type']).toBe(
      'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
    );
    expect(extAuthz.typed_config.transport_api_version).toBe('V3');
    expect(extAuthz.typed_config.failure_mode_allow).toBe(false);
    const names = hcm.http_filters.map((f: Doc) => f.name);
    expect(names.indexOf('envoy.filters.http.ext_authz')).toBeLessThan(names.indexOf('envoy.filters.http.router'));
  });

  it("points at an HTTP/2 cluster on Tollgate's default gRPC port", () => {
    const clusterName = extAuthz.typed_config.grpc_service.envoy_grpc.cluster_name;
    const cluster = clusters.find((c) => c.name === clusterName);
    expect(cluster).toBeDefined();
    const port = cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value;
    expect(port).toBe(defaults.grpc.port);
    const http = cluster.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
    expect(http.explicit_http_config.http2_protocol_options).toBeDefined();
  });

  it('routes only to clusters it defines', () => {
    const routes = hcm.route_config.virtual_hosts.flatMap((v: Doc) => v.routes).filter((r: Doc) => r.route);
    for (const route of routes) expect(clusters.map((c) => c.name)).toContain(route.route.cluster);
  });

  it('reaches a model only through a virtual host named by exact deployment hosts; any other host gets 421', () => {
    const vhosts: Doc[] = hcm.route_config.virtual_hosts;
    const toModels = vhosts.filter((v) => v.routes.some((r: Doc) => r.route));
    expect(toModels.length).toBeGreaterThan(0);
    const seen = new Set<string>();
    for (const vhost of toModels) {
      for (const domain of vhost.domains as string[]) {
        expect(domain).toMatch(/^[a-z0-9.-]+$/); // no wildcard, no port pattern: one exact host
        expect(seen.has(domain)).toBe(false); // one host, one model
        seen.add(domain);
      }
    }
    const catchAll = vhosts.filter((v) => v.domains.includes('*'));
    expect(catchAll).toHaveLength(1);
    expect(catchAll[0].routes.every((r: Doc) => r.route === undefined && r.direct_response.status === 421)).toBe(true);
  });

  it('matches hosts without port and normalizes paths as Tollgate does, refusing escaped slashes', () => {
    expect(hcm.strip_any_host_port).toBe(true);
    expect(hcm.normalize_path).toBe(true);
    expect(hcm.merge_slashes).toBe(true);
    expect(hcm.path_with_escaped_slashes_action).toBe('REJECT_REQUEST');
  });
});

/** Does an Istio `paths` list (exact, `prefix*`, `*suffix` or `*`) match `path`? */
function istioPathsCover(paths: readonly string[], path: string): boolean {
  return paths.some((p) =>
    p === '*'
      ? true
      : p.endsWith('*')
        ? path.startsWith(p.slice(0, -1))
        : p.startsWith('*')
          ? path.endsWith(p.slice(1))
          : path === p,
  );
}

/** The CUSTOM policy sends every path to the tollgate provider; a DENY policy refuses every host but `hosts`. */
function expectIstioPolicies(docs: Doc[], selector: Record<string, string>, hosts: string[]): void {
  const policies = docs.filter(
    (d) => d.kind === 'AuthorizationPolicy' && JSON.stringify(d.spec.selector.matchLabels) === JSON.stringify(selector),
  );
  const custom = policies.find((d) => d.spec.action === 'CUSTOM');
  expect(custom.spec.provider.name).toBe('tollgate');
  const paths: string[] = custom.spec.rules.flatMap((r: Doc) => r.to.flatMap((t: Doc) => t.operation.paths));
  // vLLM's OpenAI routes under KServe, the v2 inference protocol, classic routes, the root.
  for (const path of ['/', '/v1/chat/completions', '/openai/v1/completions', '/v2/models/m/infer', '/predict'])
    expect(istioPathsCover(paths, path)).toBe(true);
  const deny = policies.find((d) => d.spec.action === 'DENY');
  const notHosts: string[] = deny.spec.rules.flatMap((r: Doc) => r.to.flatMap((t: Doc) => t.operation.notHosts));
  expect([...notHosts].sort()).toEqual(hosts.flatMap((h) => [h, `${h}:*`]).sort());
}

describe('deploy/istio/tollgate-ext-authz.yaml', () => {
  const text = read('deploy/istio/tollgate-ext-authz.yaml');
  const docs: Doc[] = parseAllDocuments(text).map((d) => d.toJS());

  it('registers the tollgate provider on the gRPC port', () => {
    expect(text).toMatch(new RegExp(`envoyExtAuthzGrpc:[\\s\\S]*port: ${defaults.grpc.port}`));
  });

  it("sends every path of the model's pods through Tollgate and refuses every host but the model's own", () => {
    expectIstioPolicies(docs, { app: 'llama-3-8b' }, ['llama.models.example.com']);
  });
});

describe('deploy/traefik/tollgate-forward-auth.yaml', () => {
  const traefik: Doc = parseYaml(read('deploy/traefik/tollgate-forward-auth.yaml'));
  const forwardAuth = traefik.http.middlewares.tollgate.forwardAuth;
  const routers: [string, Doc][] = Object.entries(traefik.http.routers);

  it("calls the forward-auth door on Tollgate's default HTTP port and passes the X-Auth headers on", () => {
    const address = new URL(forwardAuth.address);
    expect(address.pathname).toBe('/v1/forward-auth');
    expect(Number(address.port)).toBe(defaults.http.port);
    expect(forwardAuth.authResponseHeaders).toEqual(
      expect.arrayContaining(['X-Auth-Subject', 'X-Auth-Deployment', 'X-Auth-Key-Id', 'X-Auth-Issuer']),
    );
  });

  it("sends Tollgate the host Traefik routed by, never a client's X-Forwarded-Host", () => {
    expect(forwardAuth.trustForwardHeader).toBe(false);
  });

  it('has one router per deployment host, each exactly Host(`…`) and through the tollgate middleware', () => {
    expect(routers.length).toBeGreaterThan(0);
    const hosts = new Set<string>();
    for (const [, router] of routers) {
      const match = /^Host\(`([a-z0-9.-]+)`\)$/.exec(router.rule);
      expect(match).not.toBeNull();
      expect(hosts.has(match![1]!)).toBe(false);
      hosts.add(match![1]!);
      expect(router.middlewares).toContain('tollgate');
    }
  });
});

describe('deploy/nginx', () => {
  const main = read('deploy/nginx/tollgate.conf.template');
  const model = read('deploy/nginx/tollgate-model.conf.template');
  const code = (text: string) => text.replace(/#.*$/gm, '');
  const placeholders = (text: string) => [...new Set([...text.matchAll(/\$\{([A-Z_]+)\}/g)].map((m) => m[1]))].sort();

  it('sends every request of a model through auth_request to /v1/forward-auth with the original host and URI', () => {
    expect(model).toMatch(/auth_request \/_tollgate\/forward-auth;/);
    expect(model).toMatch(/proxy_pass http:\/\/tollgate_authz\/v1\/forward-auth;/);
    expect(model).toMatch(/proxy_set_header X-Original-URI \$request_uri;/);
    expect(model).toMatch(/proxy_set_header X-Forwarded-Host \$host;/);
  });

  it('serves a model only under its server_name; the default server answers 421 and proxies nowhere', () => {
    expect(code(model).match(/server_name [^;]+;/g)).toEqual(['server_name ${MODEL_HOST};']);
    expect(code(model)).not.toMatch(/default_server/);
    expect(code(main)).toMatch(/listen \$\{LISTEN\} default_server;/);
    expect(code(main)).toMatch(/return 421 /);
    expect(code(main)).not.toMatch(/proxy_pass|auth_request/);
  });

  it('uses only the documented placeholders', () => {
    expect(placeholders(main)).toEqual(['LISTEN', 'TOLLGATE_AUTHZ']);
    expect(placeholders(model)).toEqual(['LISTEN', 'MODEL_HOST', 'MODEL_NAME', 'MODEL_SERVER']);
  });
});

describe('deploy/k8s', () => {
  const docs: Doc[] = parseAllDocuments(read('deploy/k8s/tollgate.yaml')).map((d) => d.toJS());
  const deployments = docs.filter((d) => d.kind === 'Deployment');

  it('deploys keys, identity and authz from entry points that exist', () => {
    const commands = deployments.map((d) => d.spec.template.spec.containers[0].command[1]);
    expect(commands.sort()).toEqual([
      'dist/apps/authz/src/main.js',
      'dist/apps/identity/src/main.js',
      'dist/apps/keys/src/main.js',
    ]);
    for (const entry of commands)
      expect(existsSync(join(root, entry.replace(/^dist\//, '').replace(/\.js$/, '.ts')))).toBe(true);
  });

  it.each(['tollgate-keys', 'tollgate-identity', 'tollgate-authz'])(
    '%s uses only variables the code reads, and the health endpoints',
    (name) => {
      const container = deployments.find((d) => d.metadata.name === name).spec.template.spec.containers[0];
      for (const env of container.env) expect(ENV_VARIABLES).toContain(env.name);
      expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
      expect(container.livenessProbe.httpGet.path).toBe('/health/live');
      const http = container.ports.find((p: Doc) => p.name === 'http');
      expect(http.containerPort).toBe(Number(container.env.find((e: Doc) => e.name === 'PORT').value));
    },
  );

  it('gives keys and identity the key-encryption key from the secret, and not the authz replicas', () => {
    const envOf = (name: string) =>
      deployments.find((d) => d.metadata.name === name).spec.template.spec.containers[0].env as Doc[];
    for (const name of ['tollgate-keys', 'tollgate-identity'])
      expect(envOf(name).find((e) => e.name === 'TOLLGATE_KEY_ENCRYPTION_KEY')?.valueFrom.secretKeyRef.key).toBe(
        'TOLLGATE_KEY_ENCRYPTION_KEY',
      );
    expect(envOf('tollgate-authz').some((e) => e.name === 'TOLLGATE_KEY_ENCRYPTION_KEY')).toBe(false);
  });

  it('gives every authz replica its own replica id and a gRPC port', () => {
    const authz = deployments.find((d) => d.metadata.name === 'tollgate-authz').spec.template.spec.containers[0];
    expect(authz.env.find((e: Doc) => e.name === 'TOLLGATE_REPLICA_ID').valueFrom.fieldRef.fieldPath).toBe(
      'metadata.name',
    );
    expect(authz.ports.find((p: Doc) => p.name === 'grpc').containerPort).toBe(defaults.grpc.port);
  });

  it("protects every path of the KServe example's predictor with the tollgate provider, for its own hosts only", () => {
    const example = parseAllDocuments(read('deploy/k8s/kserve-vllm-example.yaml')).map((d) => d.toJS());
    const service = example.find((d) => d.kind === 'InferenceService');
    expect(service).toBeDefined();
    expectIstioPolicies(example, { 'serving.kserve.io/inferenceservice': service.metadata.name }, [
      `${service.metadata.name}.models.example.com`,
      `${service.metadata.name}-predictor.${service.metadata.namespace}.svc.cluster.local`,
    ]);
  });
});
