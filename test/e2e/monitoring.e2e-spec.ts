import { execFileSync, spawnSync } from 'node:child_process';
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
  let metricsText: string;

  beforeAll(async () => {
    product = await startProduct('tollgate', {
      KAFKA_BROKERS: testKafkaBrokers().join(','),
      TOLLGATE_MAX_STALENESS_MS: '3000',
    });
    const text = await (await fetch(`${product.url}/metrics`)).text();
    metricsText = text;
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
      'tollgate_access_model_max_staleness_seconds',
    ]) {
      expect(alerts).toContain(name);
    }
  });

  // promtool from Debian's prometheus package (deploy/monitoring/ensure-promtool.sh installs it when missing).
  describe('promtool', () => {
    beforeAll(() => {
      execFileSync(join(root, 'deploy/monitoring/ensure-promtool.sh'), { stdio: 'inherit' });
    }, 300_000);

    it('finds no problem in the exported metrics (names, types, help, counters ending in _total only)', () => {
      const result = spawnSync('promtool', ['check', 'metrics'], { input: metricsText, encoding: 'utf8' });
      expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
      expect(result.status).toBe(0);
    });

    it('accepts the shipped alert rules', () => {
      const result = spawnSync('promtool', ['check', 'rules', join(root, 'deploy/monitoring/prometheus-alerts.yaml')], {
        encoding: 'utf8',
      });
      expect(result.stdout).toMatch(/SUCCESS: \d+ rules found/);
      expect(result.status).toBe(0);
    });

    it('exports the gap and poison counters at 0 before the first event, so increase() alerts see it', () => {
      expect(metricsText).toMatch(/^tollgate_projection_gaps_total\{projection="[^"]+"\} 0$/m);
      expect(metricsText).toMatch(/^tollgate_projection_poison_events_total\{projection="[^"]+"\} 0$/m);
    });
  });

  it('exports the configured bound, and the staleness and propagation rules compare with it, not with a constant', () => {
    expect(/^tollgate_access_model_max_staleness_seconds (\S+)$/m.exec(metricsText)?.[1]).toBe('3');
    const rules = readFileSync(join(root, 'deploy/monitoring/prometheus-alerts.yaml'), 'utf8');
    for (const metric of [
      'tollgate_access_model_watermark_age_seconds',
      'tollgate_authz_revocation_propagation_seconds',
    ]) {
      const exprs = rules.split('\n').filter((l) => l.includes('expr:') && l.includes(metric));
      expect(exprs.length).toBeGreaterThan(0);
      for (const expr of exprs) expect(expr).toContain('tollgate_access_model_max_staleness_seconds');
    }
  });
});
