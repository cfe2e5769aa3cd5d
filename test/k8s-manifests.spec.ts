import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { monitoringManifest } from '../deploy/k8s/monitoring.mjs';

// Kubernetes does not run here: every object of the shipped manifests is validated against the API schemas
// (kubernetes-models for the core API, @kubernetes-models/prometheus-operator for the operator's CRDs),
// then checked for what a production cluster expects of it.
const root = join(import.meta.dirname, '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = any;
const objects = (path: string): Doc[] =>
  parseAllDocuments(read(path))
    .map((d) => d.toJS())
    .filter(Boolean);

/** The kubernetes-models class of an object (`apps/v1` Deployment, `v1` Service, ...). */
async function modelOf(object: Doc): Promise<new (data: Doc) => { validate(): void }> {
  const module = (
    object.apiVersion.startsWith('monitoring.coreos.com/')
      ? await import(`@kubernetes-models/prometheus-operator/${object.apiVersion}`)
      : await import(`kubernetes-models/${object.apiVersion}`)
  ) as Record<string, new (data: Doc) => { validate(): void }>;
  const model = module[object.kind];
  if (!model) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  return model;
}

const MANIFESTS = ['deploy/k8s/tollgate.yaml', 'deploy/k8s/tollgate-monitoring.yaml'];

describe.each(MANIFESTS)('%s', (path) => {
  it('holds only objects valid against their API schema', async () => {
    const docs = objects(path);
    expect(docs.length).toBeGreaterThan(1);
    for (const object of docs) {
      const Model = await modelOf(object);
      expect(() => new Model(object).validate()).not.toThrow();
    }
  });
});

describe('the schema check', () => {
  it('refuses an invalid object (a container without an image name string)', async () => {
    const bad = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x' },
      spec: { selector: {}, template: { spec: { containers: [{ name: 'a', image: 3 }] } } },
    };
    const Model = await modelOf(bad);
    expect(() => new Model(bad).validate()).toThrow(/image must be string/);
  });
});

describe('deploy/k8s/tollgate.yaml for production', () => {
  const docs = objects('deploy/k8s/tollgate.yaml');
  const deployments = docs.filter((d) => d.kind === 'Deployment');
  const version = (JSON.parse(read('package.json')) as { version: string }).version;

  it('ships no Secret with literal values (it is created with kubectl, as the header says)', () => {
    expect(docs.filter((d) => d.kind === 'Secret')).toEqual([]);
  });

  it.each(deployments.map((d) => [d.metadata.name, d]))('%s: pinned image, hardened, probed', (_name, d) => {
    const pod = d.spec.template.spec;
    const container = pod.containers[0];
    expect(container.image).toMatch(new RegExp(`:${version.replace(/\./g, '\\.')}$`));
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.startupProbe.httpGet.path).toBe('/health/live');
    expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
    expect(container.livenessProbe.httpGet.path).toBe('/health/live');
    const budget = docs.find((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === d.metadata.name);
    expect(budget.spec.selector.matchLabels).toEqual(d.spec.selector.matchLabels);
    expect(budget.spec.maxUnavailable).toBeLessThan(d.spec.replicas);
  });

  it('labels every Service for the ServiceMonitor, with the http port it scrapes', () => {
    const [monitor] = objects('deploy/k8s/tollgate-monitoring.yaml').filter((o) => o.kind === 'ServiceMonitor');
    const services = docs.filter((d) => d.kind === 'Service');
    expect(services).toHaveLength(3);
    for (const service of services) {
      expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
      expect(service.spec.ports.map((p: Doc) => p.name)).toContain(monitor.spec.endpoints[0].port);
    }
  });
});

describe('deploy/k8s/tollgate-monitoring.yaml', () => {
  it('is what deploy/k8s/monitoring.mjs generates from the alert rules (regenerate it when they change)', () => {
    expect(read('deploy/k8s/tollgate-monitoring.yaml')).toBe(monitoringManifest());
  });
});
