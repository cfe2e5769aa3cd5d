import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { eventually, uniqueName } from '../../../test/support';
import { actor, pgFixture, type PgFixture, quietLogger, testKafka } from '../test/fixtures';
import {
  KafkaLogSource,
  type LogSource,
  PostgresLogSource,
  type Projection,
  ProjectionRunner,
  type RecordedEvent,
  Relay,
} from './index';

// Two writer schemas, each relayed to its own topic: the Kafka mode and the embedded mode of one product.
let fx: PgFixture;
let kafka: Kafka;
const topics = { keys: uniqueName('keys'), identity: uniqueName('identity') };
const relays: Relay[] = [];
const stops: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  fx = await pgFixture(['keys', 'identity']);
  kafka = testKafka();
  for (const schema of ['keys', 'identity'] as const) {
    const relay = new Relay({
      dataSource: fx.dataSource,
      schema,
      kafka,
      topic: topics[schema],
      partitions: 3,
      registry: new Registry(),
      logger: quietLogger,
    });
    await relay.start();
    relays.push(relay);
  }
});
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});
afterAll(async () => {
  for (const relay of relays) await relay.stop();
  await fx?.close();
});

const sources: Record<'kafka' | 'postgres', () => LogSource> = {
  kafka: () => new KafkaLogSource({ kafka, topics: [topics.keys, topics.identity], logger: quietLogger }),
  postgres: () =>
    new PostgresLogSource({
      dataSource: fx.dataSource,
      stores: [{ schema: 'keys' }, { schema: 'identity' }],
      logger: quietLogger,
    }),
};

/**
 * A small read model in the style of authz: keys with an owner and a revoked flag, users with groups.
 * Written so arrival order across streams does not matter; throws on a `Corrupt` event carrying its
 * `poisonTag` (each poison test has its own, since the events stay in the shared store).
 */
class AccessModel implements Projection {
  constructor(readonly poisonTag?: string) {}
  readonly keys = new Map<string, { owner: string; revoked: boolean }>();
  readonly groups = new Map<string, string[]>();
  applied = 0;
  apply(event: RecordedEvent): void {
    this.applied += 1;
    const data = event.data as Record<string, unknown>;
    switch (event.type) {
      case 'KeyCreated':
        this.keys.set(event.streamId, {
          owner: String(data.owner),
          revoked: this.keys.get(event.streamId)?.revoked ?? false,
        });
        break;
      case 'KeyRevoked':
        this.keys.set(event.streamId, { owner: this.keys.get(event.streamId)?.owner ?? '', revoked: true });
        break;
      case 'GroupsRefreshed':
        this.groups.set(event.streamId, [...(data.groups as string[])].sort());
        break;
      case 'Corrupt':
        if (data.tag === this.poisonTag) throw new Error('cannot apply a Corrupt event');
        break;
    }
  }
  state() {
    return {
      keys: Object.fromEntries([...this.keys].sort(([a], [b]) => a.localeCompare(b))),
      groups: Object.fromEntries([...this.groups].sort(([a], [b]) => a.localeCompare(b))),
    };
  }
}

async function run(kind: keyof typeof sources, model = new AccessModel(), from?: ProjectionRunner['options']['from']) {
  const runner = new ProjectionRunner({
    name: `${kind}-${uniqueName('p')}`,
    source: sources[kind](),
    projection: model,
    registry: new Registry(),
    from,
    logger: quietLogger,
  });
  await runner.start();
  stops.push(() => runner.stop());
  return { runner, model };
}

/** Waits until the runner's watermark covers everything committed so far. */
async function caughtUp(runner: ProjectionRunner) {
  const committed = Date.now() + 1;
  await eventually(() => expect(runner.watermark() ?? 0).toBeGreaterThanOrEqual(committed), { timeoutMs: 20_000 });
}

async function writeSome(tag: string, users = 10, keysPerUser = 3) {
  const keys = fx.store('keys');
  const identity = fx.store('identity');
  await Promise.all(
    Array.from({ length: users }, async (_, u) => {
      const user = `usr_${tag}${u}`;
      await identity.append(user, 'any', [{ type: 'GroupsRefreshed', data: { groups: ['a', `g${u % 3}`] } }], {
        metadata: actor,
      });
      for (let k = 0; k < keysPerUser; k++) {
        const key = `key_${tag}${u}_${k}`;
        await keys.append(key, 0, [{ type: 'KeyCreated', data: { owner: user } }], { metadata: actor });
        if (k === 0) await keys.append(key, 1, [{ type: 'KeyRevoked', data: {} }], { metadata: actor });
      }
      await identity.append(user, 'any', [{ type: 'GroupsRefreshed', data: { groups: [`g${u % 4}`, 'z'] } }], {
        metadata: actor,
      });
    }),
  );
}

describe('ProjectionRunner on real log sources', () => {
  it('both log sources give the same projection state for the same events', async () => {
    await writeSome('same');
    const viaKafka = await run('kafka');
    const viaPostgres = await run('postgres');
    await caughtUp(viaKafka.runner);
    await caughtUp(viaPostgres.runner);
    expect(viaKafka.model.state()).toEqual(viaPostgres.model.state());
    expect(Object.keys(viaKafka.model.state().keys).filter((k) => k.startsWith('key_same'))).toHaveLength(30);
    expect(viaKafka.model.keys.get('key_same0_0')).toEqual({ owner: 'usr_same0', revoked: true });
    for (const { runner } of [viaKafka, viaPostgres]) {
      expect(runner.stats()).toMatchObject({ duplicates: 0, gaps: 0 });
      expect(runner.health().status).toBe('ok');
      expect(await runner.lag()).toMatchObject({ events: expect.any(Number) });
    }
  });

  it.each(['kafka', 'postgres'] as const)(
    '%s: a consumer restarted from stored offsets neither loses nor double-applies',
    async (kind) => {
      await writeSome(`restart${kind}`, 5, 2);
      const first = await run(kind);
      await caughtUp(first.runner);
      // the snapshot: state and position taken together, between batches
      const snapshotState = structuredClone(first.model.state());
      const snapshotPosition = first.runner.position();
      const appliedBefore = first.model.applied;
      await first.runner.stop();
      stops.pop();

      await writeSome(`after${kind}`, 5, 2);
      const restored = new AccessModel();
      for (const [k, v] of Object.entries(snapshotState.keys)) restored.keys.set(k, { ...v });
      for (const [u, g] of Object.entries(snapshotState.groups)) restored.groups.set(u, [...g]);
      const second = await run(kind, restored, snapshotPosition);
      const fresh = await run(kind);
      await caughtUp(second.runner);
      await caughtUp(fresh.runner);
      expect(second.model.state()).toEqual(fresh.model.state());
      // exactly the new events were applied: 5 users × (2 refreshes + 2 keys + 1 revocation)
      expect(second.model.applied).toBe(25);
      expect(second.runner.stats()).toMatchObject({ duplicates: 0, gaps: 0 });
      expect(appliedBefore).toBeGreaterThan(0);
    },
  );

  it.each(['kafka', 'postgres'] as const)('%s: a poison event halts the projection and is reported', async (kind) => {
    const tag = uniqueName('poison');
    const { runner, model } = await run(kind, new AccessModel(tag));
    await caughtUp(runner);
    const keys = fx.store('keys');
    await keys.append(`key_${tag}`, 0, [{ type: 'KeyCreated', data: { owner: 'usr_p' } }], { metadata: actor });
    const poison = await keys.append(`key_${tag}`, 1, [{ type: 'Corrupt', data: { tag } }], { metadata: actor });
    await keys.append(`key_${tag}`, 2, [{ type: 'KeyRevoked', data: {} }], { metadata: actor });
    await eventually(() => expect(runner.health().status).toBe('halted'), { timeoutMs: 20_000 });
    const health = runner.health();
    expect(health.poison).toEqual({
      position: poison.events[0]!.position,
      eventId: poison.events[0]!.id,
      type: 'Corrupt',
      streamId: `key_${tag}`,
      error: 'cannot apply a Corrupt event',
    });
    const frozen = runner.watermark();
    // never skipped: the later revocation is not applied, and the watermark stops
    await keys.append(`key_${tag}b`, 0, [{ type: 'KeyCreated', data: { owner: 'usr_p' } }], { metadata: actor });
    const marker = Date.now();
    await eventually(() => expect(relays.every((r) => (r.watermark() ?? 0) > marker)).toBe(true));
    expect(runner.watermark()).toBe(frozen);
    expect(model.keys.get(`key_${tag}`)).toEqual({ owner: 'usr_p', revoked: false });
    expect(runner.position().streamVersions[`key_${tag}`]).toBe(1);
    const text = await (runner.options.registry as Registry).metrics();
    expect(text).toMatch(/tollgate_projection_poison_events_total\{projection="[^"]+"\} 1/);
    expect(text).toMatch(/tollgate_projection_halted\{projection="[^"]+"\} 1/);
  });
});
