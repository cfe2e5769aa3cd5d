import { Registry } from 'prom-client';
import { eventStoreMetrics, zeroCounters } from './metrics';

describe('event-store metrics', () => {
  it('zeroCounters makes every counter of a projection exist at 0, so increase() sees the first event', async () => {
    const registry = new Registry();
    const metrics = eventStoreMetrics(registry);
    zeroCounters(metrics, { projection: 'access-model' });
    const text = await registry.metrics();
    for (const name of ['applied_events', 'duplicates', 'gaps', 'poison_events']) {
      expect(text).toContain(`tollgate_projection_${name}_total{projection="access-model"} 0\n`);
    }
    metrics.gaps.inc({ projection: 'access-model' });
    expect(await registry.metrics()).toContain('tollgate_projection_gaps_total{projection="access-model"} 1\n');
  });

  it('zeroCounters does the same for a store, without touching other labels', async () => {
    const registry = new Registry();
    const metrics = eventStoreMetrics(registry);
    metrics.appended.inc({ store: 'keys' }, 3);
    zeroCounters(metrics, { store: 'keys' });
    zeroCounters(metrics, { store: 'identity' });
    const text = await registry.metrics();
    expect(text).toContain('tollgate_event_store_appended_events_total{store="keys"} 3\n');
    expect(text).toContain('tollgate_relay_heartbeats_total{store="identity"} 0\n');
    expect(text).not.toContain('tollgate_projection_gaps_total{');
  });
});
