import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * The library's metrics, created once per `Registry` (never the global one) and shared by every store,
 * relay and runner registered on it. Gauges that depend on time are computed at scrape.
 */
export interface EventStoreMetrics {
  appended: Counter<'store'>;
  appendConflicts: Counter<'store'>;
  idempotentReplays: Counter<'store'>;
  published: Counter<'store'>;
  heartbeats: Counter<'store'>;
  relayActive: Gauge<'store'>;
  relayLagEvents: Gauge<'store'>;
  relayLagSeconds: Gauge<'store'>;
  applied: Counter<'projection'>;
  duplicates: Counter<'projection'>;
  gaps: Counter<'projection'>;
  poison: Counter<'projection'>;
  consumerLagEvents: Gauge<'projection'>;
  watermarkAgeSeconds: Gauge<'projection'>;
  halted: Gauge<'projection'>;
  /** Scrape-time values: label value → seconds (null: unknown, not exported). */
  relayLagProbes: Map<string, () => number | null>;
  watermarkAgeProbes: Map<string, () => number | null>;
}

const byRegistry = new WeakMap<Registry, EventStoreMetrics>();

export function eventStoreMetrics(registry: Registry): EventStoreMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const relayLagProbes = new Map<string, () => number | null>();
  const watermarkAgeProbes = new Map<string, () => number | null>();
  const probeCollector = (probes: Map<string, () => number | null>, label: string) =>
    function (this: Gauge<string>) {
      this.reset();
      for (const [value, probe] of probes) {
        const seconds = probe();
        if (seconds !== null) this.set({ [label]: value }, seconds);
      }
    };
  const metrics: EventStoreMetrics = {
    appended: new Counter({
      name: 'tollgate_event_store_appended_events_total',
      help: 'Events appended (committed) to the event store',
      labelNames: ['store'],
      registers,
    }),
    appendConflicts: new Counter({
      name: 'tollgate_event_store_version_conflicts_total',
      help: 'Appends refused because the stream was not at the expected version',
      labelNames: ['store'],
      registers,
    }),
    idempotentReplays: new Counter({
      name: 'tollgate_event_store_idempotent_replays_total',
      help: 'Appends answered with the stored result of an earlier request with the same idempotency key',
      labelNames: ['store'],
      registers,
    }),
    published: new Counter({
      name: 'tollgate_relay_published_events_total',
      help: 'Events published to Kafka by the relay (a crash may publish some twice)',
      labelNames: ['store'],
      registers,
    }),
    heartbeats: new Counter({
      name: 'tollgate_relay_heartbeats_total',
      help: 'Heartbeat rounds published (one message per partition each)',
      labelNames: ['store'],
      registers,
    }),
    relayActive: new Gauge({
      name: 'tollgate_relay_active',
      help: '1 when this relay holds the store lock and publishes, 0 in standby',
      labelNames: ['store'],
      registers,
    }),
    relayLagEvents: new Gauge({
      name: 'tollgate_relay_lag_events',
      help: 'Committed events not yet published (capped at 100000)',
      labelNames: ['store'],
      registers,
    }),
    relayLagSeconds: new Gauge({
      name: 'tollgate_relay_lag_seconds',
      help: 'Now minus the watermark last published by the active relay',
      labelNames: ['store'],
      registers,
      collect: probeCollector(relayLagProbes, 'store'),
    }),
    applied: new Counter({
      name: 'tollgate_projection_applied_events_total',
      help: 'Events applied to the projection',
      labelNames: ['projection'],
      registers,
    }),
    duplicates: new Counter({
      name: 'tollgate_projection_duplicates_total',
      help: 'Duplicate events ignored (stream version already applied)',
      labelNames: ['projection'],
      registers,
    }),
    gaps: new Counter({
      name: 'tollgate_projection_gaps_total',
      help: 'Gaps detected (stream version beyond last applied + 1); the partition holds until filled',
      labelNames: ['projection'],
      registers,
    }),
    poison: new Counter({
      name: 'tollgate_projection_poison_events_total',
      help: 'Events whose application threw; the projection halts on the first one',
      labelNames: ['projection'],
      registers,
    }),
    consumerLagEvents: new Gauge({
      name: 'tollgate_projection_consumer_lag_events',
      help: 'Log items (events and heartbeats) not yet applied',
      labelNames: ['projection'],
      registers,
    }),
    watermarkAgeSeconds: new Gauge({
      name: 'tollgate_projection_watermark_age_seconds',
      help: 'Now minus the projection watermark (fail closed beyond the staleness bound)',
      labelNames: ['projection'],
      registers,
      collect: probeCollector(watermarkAgeProbes, 'projection'),
    }),
    halted: new Gauge({
      name: 'tollgate_projection_halted',
      help: '1 when the projection is halted (poison event) or holds a partition (gap)',
      labelNames: ['projection'],
      registers,
    }),
    relayLagProbes,
    watermarkAgeProbes,
  };
  byRegistry.set(registry, metrics);
  return metrics;
}

/**
 * Starts every counter of a store or a projection at 0, so the series exist before the first event:
 * `increase(...) > 0` alerts then see the first gap or poison event instead of a series appearing at 1.
 */
export function zeroCounters(metrics: EventStoreMetrics, labels: { store: string } | { projection: string }): void {
  const counters =
    'store' in labels
      ? [metrics.appended, metrics.appendConflicts, metrics.idempotentReplays, metrics.published, metrics.heartbeats]
      : [metrics.applied, metrics.duplicates, metrics.gaps, metrics.poison];
  for (const counter of counters as Counter<string>[]) counter.inc(labels, 0);
}
