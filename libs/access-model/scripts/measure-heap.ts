/**
 * Heap bytes per key of the access model, and snapshot size and timings. Not a test (it measures).
 *   npx swc libs -d /tmp/tg --quiet && node --expose-gc /tmp/tg/libs/access-model/scripts/measure-heap.js [keys]
 */
import { createHash, randomBytes } from 'node:crypto';
import type { RecordedEvent } from '@tollgate/event-store';
import { AccessModel } from '@tollgate/access-model';

const KEYS = Number(process.argv[2] ?? 100_000);
const USERS = Math.max(1, Math.floor(KEYS / 100));
const REVOKED_EVERY = 10;
const T0 = Date.parse('2026-11-26T00:00:00.000Z');

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

let position = 0;
// Through JSON, as a log source delivers events (flat strings, as JSON.parse makes them).
const event = (streamId: string, streamVersion: number, type: string, data: unknown): RecordedEvent => ({
  id: JSON.parse(
    JSON.stringify(`evt_${(++position).toString(36).padStart(10, '0')}${randomBytes(8).toString('hex')}`),
  ) as string,
  source: '/tollgate/keys',
  streamId,
  streamVersion,
  position,
  type,
  data: JSON.parse(JSON.stringify(data)) as unknown,
  metadata: { actor: 'system', channel: 'system' },
  recordedAt: new Date(T0),
});
const keyId = (i: number) => `key_${i.toString(36).padStart(16, '0')}`;
const userId = (i: number) => `usr_${i.toString(36).padStart(16, '0')}`;

const model = new AccessModel();
for (let u = 0; u < USERS; u++) {
  model.apply(
    event(`user-${userId(u)}`, 1, 'UserCreated', {
      userId: userId(u),
      name: `user-${u}`,
      kind: 'internal',
      admin: false,
      email: null,
      createdAt: new Date(T0).toISOString(),
    }),
  );
}
const before = heap();
const started = performance.now();
for (let i = 0; i < KEYS; i++) {
  const id = keyId(i);
  model.apply(
    event(`key-${id}`, 1, 'KeyCreated', {
      keyId: id,
      kind: 'user-key',
      secretHash: createHash('sha256').update(randomBytes(32)).digest('hex'),
      name: `key ${i}`,
      userId: userId(i % USERS),
      scope: i % 2 ? 'inference' : 'management',
      expiresAt: new Date(T0 + 365 * 86_400_000 + i).toISOString(),
      createdAt: new Date(T0 + i).toISOString(),
    }),
  );
  if (i % REVOKED_EVERY === 0) {
    model.apply(
      event(`key-${id}`, 2, 'KeyRevoked', { keyId: id, reason: 'user', revokedAt: new Date(T0 + i + 1).toISOString() }),
    );
  }
}
const applyMs = performance.now() - started;
const after = heap();

let t = performance.now();
const capture = model.captureSnapshot();
const captureMs = performance.now() - t;
t = performance.now();
const snapshot = await capture.encode();
const encodeMs = performance.now() - t;
t = performance.now();
const json = JSON.stringify(snapshot);
const stringifyMs = performance.now() - t;
t = performance.now();
const restored = AccessModel.restore(JSON.parse(json));
const restoreMs = performance.now() - t;

const perKey = (after - before) / KEYS;
const lines = [
  `keys ${KEYS} (1 in ${REVOKED_EVERY} revoked; ${USERS} users; revocation bookkeeping included)`,
  `heap bytes per key      ${perKey.toFixed(0)}   (→ ${((perKey * 1_000_000) / 2 ** 20).toFixed(0)} MiB at 1M keys)`,
  `apply                   ${((applyMs / (KEYS * 1.1)) * 1000).toFixed(1)} µs/event (with zod validation)`,
  `captureSnapshot()       ${captureMs.toFixed(0)} ms (blocks the event loop)`,
  `encode (sliced, async)  ${encodeMs.toFixed(0)} ms`,
  `JSON.stringify          ${stringifyMs.toFixed(0)} ms, ${(json.length / KEYS).toFixed(0)} bytes per key`,
  `restore (parse + load)  ${restoreMs.toFixed(0)} ms`,
  `restored keys           ${restored.counts().keys}`,
];
process.stdout.write(`${lines.join('\n')}\n`);
process.stdout.write(
  `BENCH access-model-heap ${JSON.stringify({ keys: KEYS, heap_bytes_per_key: Math.round(perKey), snapshot_bytes_per_key: Math.round(json.length / KEYS), restore_ms: Math.round(restoreMs) })}\n`,
);
