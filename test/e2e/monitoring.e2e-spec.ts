import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { testKafkaBrokers } from '../support';
import { startProduct, type ProductProcess } from './product-process';

// Every metric the shipped dashboard and alert rules name must be exported by the product, so the
// monitoring cannot silently watch nothing. The product runs with Kafka so relay metrics exist too.
const root = join(import.meta.dirname, '..', '..');
const METRIC = /\btollgate_[a-z_]+\b/g;
const base = (name: string) => name.replace(/_(bucket|count|sum)$/, '');

function namedIn(path: string): string[] {
  return [...new Set([...readFileSync(join(root, path), 'utf8').matchAll(METRIC)].map((m) => base(m[0])))].sort();
}

describe('deploy/monitoring', () => {
  let product: ProductProcess;
  let exported: Set<string>;

  beforeAll(async () => {
    product = await startProduct('tollgate', { KAFKA_BROKERS: testKafkaBrokers().join(',') });
    const text = await (await fetch(`${product.url}/metrics`)).text();
    exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
  }, 120_000);

  afterAll(async () => {
    await product?.stop();
  });

  it.each(['deploy/monitoring/grafana-dashboard.json', 'deploy/monitoring/prometheus-alerts.yaml'])(
    '%s names only exported metrics',
    (path) => {
      const names = namedIn(path);
      expect(names.length).toBeGreaterThan(5);
      expect(names.filter((n) => !exported.has(n))).toEqual([]);
    },
  );

  it('covers relay lag, watermark age, propagation lag, gaps, poison events and the 5xx rate', () => {
    const alerts = namedIn('deploy/monitoring/prometheus-alerts.yaml');
    for (const name of [
      'tollgate_relay_lag_seconds',
      'tollgate_access_model_watermark_age_seconds',
      'tollgate_authz_revocation_propagation_seconds',
      'tollgate_projection_gaps_total',
      'tollgate_projection_poison_events_total',
      'tollgate_http_request_duration_seconds',
    ]) {
      expect(alerts).toContain(name);
    }
  });
});
