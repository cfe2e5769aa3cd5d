// The fault suite's nemesis: one fault per cycle, each kind in turn, every one healed before the next.
// Each returns when the fault began and when it ended (the checker measures recovery from the end).
import pg from 'pg';
import type { Cluster, ClusterService } from '../../deploy/cluster/cluster.mjs';
import { relayState } from '../cluster/harness';

export const FAULT_KINDS = [
  'kill-keys',
  'kill-identity',
  'kill-authz',
  'kill-broker',
  'freeze-broker',
  'restart-postgres',
  'long-transaction',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface NemesisOptions {
  /** how long a killed process or broker stays down, a broker frozen, PostgreSQL stopped (default 3000 ms) */
  downMs?: number;
  /** how long the long transaction holds its xid (default 5000 ms: beyond the 2 s bound) */
  transactionMs?: number;
  log?: (line: string) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The writer whose relay is active (the interesting one to kill), else the first. */
async function activeWriter(cluster: Cluster, kind: 'keys' | 'identity'): Promise<ClusterService> {
  const writers = cluster.of(kind);
  const states = await Promise.all(writers.map((w) => relayState(w.url)));
  return writers[states.indexOf('active')] ?? writers[0]!;
}

/** Which fault kinds this cluster can suffer: PostgreSQL restarts only when the server is ours (embedded). */
export function faultKinds(cluster: Cluster): FaultKind[] {
  return FAULT_KINDS.filter((k) => k !== 'restart-postgres' || cluster.database.embedded);
}

export async function injectFault(
  cluster: Cluster,
  kind: FaultKind,
  round: number,
  options: NemesisOptions = {},
): Promise<{ startAt: number; endAt: number; target: string }> {
  const downMs = options.downMs ?? 3000;
  const log = options.log ?? (() => {});
  switch (kind) {
    case 'kill-keys':
    case 'kill-identity':
    case 'kill-authz': {
      const target =
        kind === 'kill-authz'
          ? cluster.of('authz')[round % cluster.of('authz').length]!
          : await activeWriter(cluster, kind === 'kill-keys' ? 'keys' : 'identity');
      const startAt = Date.now();
      await target.process.kill('SIGKILL');
      await sleep(downMs);
      // The fault ends when the process is started again; readiness is part of the recovery measured.
      await target.process.start({ waitForReady: false });
      return { startAt, endAt: Date.now(), target: target.name };
    }
    case 'kill-broker': {
      const node = cluster.kafka.nodes[round % cluster.kafka.nodes.length]!;
      const startAt = Date.now();
      await node.kill('SIGKILL');
      await sleep(downMs);
      // A broker restarted right after kill -9 can be refused while its old session lasts: try again.
      for (let attempt = 1; ; attempt++) {
        try {
          await node.restart();
          break;
        } catch (error) {
          if (attempt >= 3) throw error;
          log(`broker ${node.id} restart failed (${(error as Error).message.split('\n')[0]}); again`);
          await node.kill('SIGKILL');
          await sleep(2000);
        }
      }
      // Ends when it answers a Metadata request again (as broker_restart_recovery_ms counts).
      return { startAt, endAt: Date.now(), target: `broker ${node.id}` };
    }
    case 'freeze-broker': {
      const node = cluster.kafka.nodes[round % cluster.kafka.nodes.length]!;
      const startAt = Date.now();
      await node.kill('SIGSTOP');
      await sleep(downMs + 2000);
      await node.kill('SIGCONT');
      return { startAt, endAt: Date.now(), target: `broker ${node.id}` };
    }
    case 'restart-postgres': {
      const { stopServer, startServer } = cluster.database;
      if (!stopServer || !startServer) throw new Error('PostgreSQL is not ours to restart (DATABASE_URL)');
      const startAt = Date.now();
      await stopServer();
      await sleep(downMs);
      await startServer();
      return { startAt, endAt: Date.now(), target: 'postgresql' };
    }
    case 'long-transaction': {
      // An xid held anywhere on the server holds every relay's watermark back (docs/event-store.md).
      const client = new pg.Client({ connectionString: cluster.database.url });
      await client.connect();
      try {
        const startAt = Date.now();
        await client.query('BEGIN');
        await client.query('SELECT pg_current_xact_id()');
        await sleep(options.transactionMs ?? 5000);
        await client.query('COMMIT');
        return { startAt, endAt: Date.now(), target: 'postgresql' };
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  }
}

/**
 * Waits until every service answers /health/ready 200 twice in a row (writers ready, replicas fresh), or
 * the deadline passes: the next fault starts on a healed cluster. Returns whether it healed.
 */
export async function waitHealthy(cluster: Cluster, deadlineMs = 120_000): Promise<boolean> {
  const deadline = Date.now() + deadlineMs;
  let streak = 0;
  while (Date.now() < deadline) {
    const answers = await Promise.all(
      cluster.services.map((s) =>
        fetch(`${s.url}/health/ready`, { signal: AbortSignal.timeout(2000) }).then(
          (r) => r.status,
          () => 0,
        ),
      ),
    );
    streak = answers.every((s) => s === 200) ? streak + 1 : 0;
    if (streak >= 2) return true;
    await sleep(250);
  }
  return false;
}
