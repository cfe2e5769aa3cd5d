// Cold start of an authz replica (BENCH_PARTS=snapshot, keys from BENCH_REPLAY_KEYS): full replay of the log vs
// restoring the latest snapshot and catching up a tail of 1% more keys, both to the same final state on real
// Kafka + PostgreSQL; the restore is then split into fetch (rows → one buffer), unpack (buffer → snapshot
// object) and load (snapshot → model). Its own module so authz.bench.ts only dispatches to it.
import { createHash } from 'node:crypto';
import {
  ACCESS_MODEL_MIGRATIONS,
  ACCESS_MODEL_SCHEMA,
  AccessModel,
  decodePayload,
  SnapshotStore,
} from '@tollgate/access-model';
import { createDataSource, databaseUrl, ensureDatabase, runMigrations } from '@tollgate/database';
import type { NewEvent } from '@tollgate/event-store';
import { benchReplica } from './replica-runtime';
import { startBenchWriters } from './writers';

const USERS = 1000;
const PROJECT = 'prj_benchsnap0000001';
const userId = (i: number) => `usr_bsnap${String(i % USERS).padStart(11, '0')}`;
const keyId = (i: number) => `key_bsnap${String(i).padStart(11, '0')}`;
const iso = (ms: number) => new Date(ms).toISOString();
const round = (n: number, digits = 2) => Number(n.toFixed(digits));

export interface SnapshotFigures {
  keys: number;
  setupAppendMs: number;
  setupPublishPerS: number;
  seedReplayMs: number;
  saveMs: number;
  payloadBytes: number;
  replayMs: number;
  snapshotMs: number;
  restoredAfterMs: number;
  fetchMs: number;
  unpackMs: number;
  loadMs: number;
}

async function until(condition: () => boolean, what: string, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function keyCreated(i: number, now: number): NewEvent {
  return {
    type: 'KeyCreated',
    data: {
      keyId: keyId(i),
      kind: 'user-key',
      secretHash: createHash('sha256').update(`tollgate-bench-snapshot-${i}`).digest('hex'),
      name: `k${i}`,
      userId: userId(i),
      scope: 'inference',
      expiresAt: iso(now + 30 * 86_400_000),
      createdAt: iso(now - 3_600_000),
    },
  };
}

function world(now: number): { streamId: string; events: NewEvent[] }[] {
  const created = iso(now - 86_400_000);
  const streams = Array.from({ length: USERS }, (_, u) => ({
    streamId: `user-${userId(u)}`,
    events: [
      {
        type: 'UserCreated',
        data: { userId: userId(u), name: `u${u}`, kind: 'internal', admin: false, email: null, createdAt: created },
      },
    ] as NewEvent[],
  }));
  streams.push({
    streamId: `project-${PROJECT}`,
    events: [
      { type: 'ProjectCreated', data: { projectId: PROJECT, name: 'b', ownerId: userId(0), createdAt: created } },
    ],
  });
  return streams;
}

export async function snapshotPart(
  kafkaBrokers: string[],
  serverUrl: string,
  keys: number,
  say: (line: string) => void,
): Promise<SnapshotFigures> {
  await ensureDatabase(serverUrl, 'bench_snapshot');
  const url = databaseUrl(serverUrl, 'bench_snapshot');
  const { sources, stores, relays } = await startBenchWriters(url, kafkaBrokers, false);
  const metadata = { actor: 'system', channel: 'bench' };
  const now = Date.now();
  for (const s of world(now)) await stores.identity.append(s.streamId, 'any', s.events, { metadata });
  // Keys in streams of 1,000 events (one transaction each), 8 appends in flight.
  const createKeys = async (from: number, to: number) => {
    const batches: Promise<unknown>[] = [];
    for (let b = from; b < to; b += 1000) {
      const events: NewEvent[] = [];
      for (let i = b; i < Math.min(to, b + 1000); i++) events.push(keyCreated(i, now));
      batches.push(stores.keys.append(`bench-snap-keys-${b}`, 'any', events, { metadata }));
      if (batches.length >= 8) await Promise.all(batches.splice(0));
    }
    await Promise.all(batches);
  };
  let t0 = performance.now();
  await createKeys(0, keys);
  const setupAppendMs = performance.now() - t0;
  say(`snapshot: ${keys} keys appended in ${Math.round(setupAppendMs)} ms; relaying to Kafka`);

  const replica = (name: string, loadSnapshot: boolean) => benchReplica(name, loadSnapshot, kafkaBrokers, url);
  type Replica = ReturnType<typeof replica>;
  let restoredAfterMs = NaN;
  const caughtUp = async (r: Replica, n: number) => {
    const start = performance.now();
    r.runtime.start();
    void until(() => r.runtime.status().restoredFrom !== null, 'restore').then(
      () => (restoredAfterMs = performance.now() - start),
      () => undefined,
    );
    await until(() => r.freshness.isFresh() && r.model.counts().keys >= n, `${r.name} to hold ${n} keys`);
    return performance.now() - start;
  };

  // The relay's publish rate over the setup backlog, seen as the seed replica's catch-up (it reads as the
  // relay publishes). Then the seed's snapshot, the tail, and the two cold starts.
  t0 = performance.now();
  for (const relay of relays) await relay.start();
  const seed = replica('bench-snap-seed', false);
  const seedReplayMs = await caughtUp(seed, keys);
  const setupPublishPerS = keys / ((performance.now() - t0) / 1000);
  say(`snapshot: relayed and folded ${keys} keys at ${Math.round(setupPublishPerS)}/s; saving a snapshot`);
  t0 = performance.now();
  await seed.runtime.saveSnapshot('bench');
  const saveMs = performance.now() - t0;
  const payloadBytes = seed.runtime.status().lastSnapshot?.payloadBytes ?? NaN;
  const tail = Math.max(100, Math.floor(keys / 100));
  await createKeys(keys, keys + tail);
  await seed.runtime.stop();

  // The restore, piece by piece, on the stored row (in this process, before the replicas start).
  const snapshots = createDataSource({
    url,
    schema: ACCESS_MODEL_SCHEMA,
    migrations: ACCESS_MODEL_MIGRATIONS,
    name: 'bench-snapshot-split',
    poolSize: 2, // runMigrations never finishes with a pool of one
  });
  await runMigrations(snapshots);
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  t0 = performance.now();
  const fetched = await new SnapshotStore(snapshots).fetchLatest(seed.runtime.sourceId);
  const fetchMs = performance.now() - t0;
  t0 = performance.now();
  const payload = await decodePayload(fetched!.payload);
  const unpackMs = performance.now() - t0;
  t0 = performance.now();
  const restored = AccessModel.restore(payload.model);
  const loadMs = performance.now() - t0;
  if (restored.counts().keys !== keys) throw new Error(`snapshot: restored ${restored.counts().keys} keys`);
  say(
    `snapshot: save ${Math.round(saveMs)} ms (${payloadBytes} bytes); fetch ${Math.round(fetchMs)} ms, unpack ${Math.round(unpackMs)} ms, load ${Math.round(loadMs)} ms`,
  );
  await snapshots.destroy();
  gc?.();

  // Stops are bounded: a slow disconnect must not hold the figures back.
  const bounded = (p: Promise<unknown>) => Promise.race([p, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  say('snapshot: cold start from the snapshot + 1% tail');
  const fromSnapshot = replica('bench-snap-a', true);
  const snapshotMs = await caughtUp(fromSnapshot, keys + tail);
  if (fromSnapshot.runtime.status().restoredFrom === null) throw new Error('snapshot: replica a did not restore');
  say(`snapshot: caught up in ${Math.round(snapshotMs)} ms (restored after ${Math.round(restoredAfterMs)} ms)`);
  await bounded(fromSnapshot.runtime.stop());
  gc?.();
  say('snapshot: cold start by full replay');
  const fullReplay = replica('bench-snap-b', false);
  const replayMs = await caughtUp(fullReplay, keys + tail);
  say(`snapshot: full replay in ${Math.round(replayMs)} ms`);
  await bounded(fullReplay.runtime.stop());
  for (const relay of relays) await bounded(relay.stop());

  await sources.keys.destroy();
  await sources.identity.destroy();
  return {
    keys,
    setupAppendMs,
    setupPublishPerS,
    seedReplayMs,
    saveMs,
    payloadBytes,
    replayMs,
    snapshotMs,
    restoredAfterMs,
    fetchMs,
    unpackMs,
    loadMs,
  };
}

export function snapshotReport(f: SnapshotFigures): { rows: [string, string][]; fields: Record<string, number> } {
  const ms = (n: number) => `${Math.round(n)} ms`;
  return {
    rows: [
      [
        'cold start (snapshot part)',
        `${f.keys.toLocaleString('en')} keys + 1% tail: full replay ${ms(f.replayMs)}, snapshot + catch-up ${ms(f.snapshotMs)} (restored after ${ms(f.restoredAfterMs)}), speedup ${round(f.replayMs / f.snapshotMs)}`,
      ],
      [
        'snapshot restore split',
        `fetch ${ms(f.fetchMs)}, unpack ${ms(f.unpackMs)}, load ${ms(f.loadMs)}; payload ${(f.payloadBytes / 1048576).toFixed(1)} MiB, save ${ms(f.saveMs)}`,
      ],
      [
        'snapshot part setup',
        `append ${ms(f.setupAppendMs)}, relay + fold ${Math.round(f.setupPublishPerS).toLocaleString('en')} keys/s`,
      ],
    ],
    fields: {
      snapshot_speedup: round(f.replayMs / f.snapshotMs, 2),
      snapshot_keys: f.keys,
      snapshot_replay_ms: Math.round(f.replayMs),
      snapshot_catchup_ms: Math.round(f.snapshotMs),
      snapshot_fetch_ms: Math.round(f.fetchMs),
      snapshot_unpack_ms: Math.round(f.unpackMs),
      snapshot_load_ms: Math.round(f.loadMs),
      snapshot_save_ms: Math.round(f.saveMs),
      snapshot_payload_bytes: f.payloadBytes,
    },
  };
}
