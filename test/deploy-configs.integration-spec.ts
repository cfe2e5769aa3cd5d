import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV_VARIABLES, loadConfig } from '@tollgate/config';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

// Envoy, Istio, Traefik and Kubernetes do not run on our machines: each shipped config is parsed and checked
// against the code (ports, paths, service names, environment variables, health endpoints).
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
    const routes = hcm.route_config.virtual_hosts.flatMap((v: Doc) => v.routes);
    for (const route of routes) expect(clusters.map((c) => c.name)).toContain(route.route.cluster);
  });
});

describe('deploy/istio/tollgate-ext-authz.yaml', () => {
  const text = read('deploy/istio/tollgate-ext-authz.yaml');
  const policy: Doc = parseYaml(text);

  it('is a CUSTOM AuthorizationPolicy naming the tollgate provider registered on the gRPC port', () => {
    expect(policy.kind).toBe('AuthorizationPolicy');
    expect(policy.spec.action).toBe('CUSTOM');
    expect(policy.spec.provider.name).toBe('tollgate');
    expect(text).toMatch(new RegExp(`envoyExtAuthzGrpc:[\\s\\S]*port: ${defaults.grpc.port}`));
  });
});

describe('deploy/traefik/tollgate-forward-auth.yaml', () => {
  const traefik: Doc = parseYaml(read('deploy/traefik/tollgate-forward-auth.yaml'));
  const forwardAuth = traefik.http.middlewares.tollgate.forwardAuth;

  it("calls the forward-auth door on Tollgate's default HTTP port and passes the X-Auth headers on", () => {
    const address = new URL(forwardAuth.address);
    expect(address.pathname).toBe('/v1/forward-auth');
    expect(Number(address.port)).toBe(defaults.http.port);
    expect(forwardAuth.authResponseHeaders).toEqual(
      expect.arrayContaining(['X-Auth-Subject', 'X-Auth-Deployment', 'X-Auth-Key-Id', 'X-Auth-Issuer']),
    );
    expect(traefik.http.routers.llama.middlewares).toContain('tollgate');
  });
});

describe('deploy/nginx/tollgate.conf.template', () => {
  const text = read('deploy/nginx/tollgate.conf.template');

  it('sends every request through auth_request to /v1/forward-auth with the original host and URI', () => {
    expect(text).toMatch(/auth_request \/_tollgate\/forward-auth;/);
    expect(text).toMatch(/proxy_pass http:\/\/tollgate_authz\/v1\/forward-auth;/);
    expect(text).toMatch(/proxy_set_header X-Original-URI \$request_uri;/);
    expect(text).toMatch(/proxy_set_header X-Forwarded-Host \$host;/);
  });

  it('uses only the documented placeholders', () => {
    const placeholders = new Set([...text.matchAll(/\$\{([A-Z_]+)\}/g)].map((m) => m[1]));
    expect([...placeholders].sort()).toEqual(['LISTEN', 'MODEL_SERVER', 'TOLLGATE_AUTHZ']);
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

  it('gives every authz replica its own replica id and a gRPC port', () => {
    const authz = deployments.find((d) => d.metadata.name === 'tollgate-authz').spec.template.spec.containers[0];
    expect(authz.env.find((e: Doc) => e.name === 'TOLLGATE_REPLICA_ID').valueFrom.fieldRef.fieldPath).toBe(
      'metadata.name',
    );
    expect(authz.ports.find((p: Doc) => p.name === 'grpc').containerPort).toBe(defaults.grpc.port);
  });

  it('protects the KServe example with the tollgate provider', () => {
    const example = parseAllDocuments(read('deploy/k8s/kserve-vllm-example.yaml')).map((d) => d.toJS());
    const policy = example.find((d) => d.kind === 'AuthorizationPolicy');
    expect(policy.spec.provider.name).toBe('tollgate');
    expect(example.find((d) => d.kind === 'InferenceService')).toBeDefined();
  });
});
