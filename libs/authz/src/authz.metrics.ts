import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Decisions by door, status and reason, counted in plain number fields and added to the Prometheus counter
 * `tollgate_authz_decisions_total` when it is collected (each scrape, each `get()`). prom-client's bound
 * `labels(…).inc()` hashes and validates its label object on every call, about half of the metrics' cost a
 * decision in a CPU profile; a field increment costs nothing, and a scrape sees every decision made before it.
 */
export class DecisionCounts {
  /** By door, then status, then reason: closed sets (CONTRACT.md section 2), so these maps stay small. */
  private readonly cells = new Map<string, Map<number, Map<string, DecisionCell>>>();

  /** The cell of one label set; keep it, and `count += 1` per decision. */
  cell(door: string, status: number, reason: string): DecisionCell {
    let byStatus = this.cells.get(door);
    if (byStatus === undefined) this.cells.set(door, (byStatus = new Map()));
    let byReason = byStatus.get(status);
    if (byReason === undefined) byStatus.set(status, (byReason = new Map()));
    let cell = byReason.get(reason);
    if (cell === undefined)
      byReason.set(reason, (cell = { labels: { door, status: String(status), reason }, count: 0 }));
    return cell;
  }

  /** Moves what was counted since the last call into `counter`. */
  drainInto(counter: Pick<Counter<'door' | 'status' | 'reason'>, 'inc'>): void {
    for (const byStatus of this.cells.values())
      for (const byReason of byStatus.values())
        for (const cell of byReason.values()) {
          if (cell.count === 0) continue;
          counter.inc(cell.labels, cell.count);
          cell.count = 0;
        }
  }
}

export interface DecisionCell {
  readonly labels: { door: string; status: string; reason: string };
  count: number;
}

/** One `DecisionCounts` per registry: the counter's `collect` hook and every recorder share it. */
const countsByRegistry = new WeakMap<Registry, DecisionCounts>();

/** The authorizer's Prometheus metrics, on the process registry (`METRICS_REGISTRY`). */
export interface AuthzMetrics {
  /** Decision latency by door (from the door's first byte of work to the decision). */
  decisionSeconds: Histogram<'door'>;
  /** Decisions by door, status and reason; count them through `decisionCounts`. */
  decisions: Counter<'door' | 'status' | 'reason'>;
  decisionCounts: DecisionCounts;
  /**
   * Commit (the event's store time) to applied on this replica, per access-reducing event, by event type
   * and phase: `live` when the replica was serving, `catch-up` when it was stale (failing closed) and
   * catching up, so an outage's backlog is measured too, apart.
   */
  propagationSeconds: Histogram<'type' | 'phase'>;
  /** Requests answered 503 `authorizer-overloaded` by the load shedder, by door. */
  shed: Counter<'door'>;
}

const existing = <T>(registry: Registry, name: string): T | undefined =>
  registry.getSingleMetric(name) as T | undefined;

/** Registers the metrics once per registry (several modules of one test process may share none). */
export function authzMetrics(registry: Registry, watermarkAgeMs: () => number | null): AuthzMetrics {
  const decisionSeconds =
    existing<Histogram<'door'>>(registry, 'tollgate_authz_decision_duration_seconds') ??
    new Histogram({
      name: 'tollgate_authz_decision_duration_seconds',
      help: 'Time to decide one check, by door',
      labelNames: ['door'],
      buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25],
      registers: [registry],
    });
  let decisionCounts = countsByRegistry.get(registry);
  if (decisionCounts === undefined) countsByRegistry.set(registry, (decisionCounts = new DecisionCounts()));
  const counts = decisionCounts;
  const decisions =
    existing<Counter<'door' | 'status' | 'reason'>>(registry, 'tollgate_authz_decisions_total') ??
    new Counter({
      name: 'tollgate_authz_decisions_total',
      help: 'Decisions by door, HTTP status and reason',
      labelNames: ['door', 'status', 'reason'],
      registers: [registry],
      collect() {
        counts.drainInto(this);
      },
    });
  const propagationSeconds =
    existing<Histogram<'type' | 'phase'>>(registry, 'tollgate_authz_revocation_propagation_seconds') ??
    new Histogram({
      name: 'tollgate_authz_revocation_propagation_seconds',
      help: 'Access-reducing event committed to applied by this replica, by event type and phase (live or catch-up)',
      labelNames: ['type', 'phase'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    });
  const shed =
    existing<Counter<'door'>>(registry, 'tollgate_authz_shed_total') ??
    new Counter({
      name: 'tollgate_authz_shed_total',
      help: 'Requests shed (503 authorizer-overloaded) to keep the log source ahead of request work, by door',
      labelNames: ['door'],
      registers: [registry],
    });
  if (!existing(registry, 'tollgate_authz_watermark_age_seconds')) {
    new Gauge({
      name: 'tollgate_authz_watermark_age_seconds',
      help: 'now - watermark of the access model this authorizer answers from (-1 before the first watermark)',
      registers: [registry],
      collect() {
        const age = watermarkAgeMs();
        this.set(age === null ? -1 : age / 1000);
      },
    });
  }
  return { decisionSeconds, decisions, decisionCounts, propagationSeconds, shed };
}
