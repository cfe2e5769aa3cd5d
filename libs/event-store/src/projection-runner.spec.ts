import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { InMemoryLog } from './in-memory';
import type { LogBatchHandler, LogItem, LogSource } from './log-source';
import { type Projection, ProjectionRunner } from './projection-runner';
import type { Logger, RecordedEvent } from './types';

const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {} };
let position = 0;

function ev(
  streamId: string,
  streamVersion: number,
  type = 'Counted',
  data: unknown = { n: streamVersion },
): RecordedEvent {
  position += 1;
  const recordedAt = new Date(1_700_000_000_000 + position);
  return {
    id: `evt_${streamId}_${streamVersion}`,
    source: '/tollgate/test',
    streamId,
    streamVersion,
    position,
    type,
    data,
    metadata: {
      actor: 'usr_1',
      channel: 'test',
      causationId: null,
      correlationId: null,
      idempotencyKey: null,
      recordedAt: recordedAt.toISOString(),
    },
    recordedAt,
  };
}

/** A projection that records what it applied, per stream, and can be told to fail on an event type. */
class Recording implements Projection {
  readonly applied: string[] = [];
  failOn?: string;
  apply(event: RecordedEvent): void {
    if (event.type === this.failOn) throw new Error(`cannot apply ${event.type}`);
    this.applied.push(`${event.streamId}@${event.streamVersion}`);
  }
}

async function setup(options: { partitions?: number; from?: ProjectionRunner['options']['from'] } = {}) {
  let clock = 1_700_000_000_000;
  const now = () => clock;
  const log = new InMemoryLog({ partitions: options.partitions ?? 1, now });
  const projection = new Recording();
  const registry = new Registry();
  const runner = new ProjectionRunner({
    name: 'test',
    source: log.source(),
    projection,
    registry,
    from: options.from,
    logger: quiet,
    now,
    maxStalenessMs: 2000,
  });
  await runner.start();
  const advance = (ms: number) => {
    clock += ms;
  };
  return { log, projection, registry, runner, advance, now };
}

describe('ProjectionRunner', () => {
  it('applies each event once: duplicates are ignored and counted', async () => {
    const { log, projection, runner, registry } = await setup();
    log.publish([ev('a', 1), ev('a', 2), ev('b', 1)]);
    log.publish([ev('a', 1), ev('a', 2), ev('b', 1), ev('a', 3)]); // a relay re-published after a crash
    await log.settled();
    expect(projection.applied).toEqual(['a@1', 'a@2', 'b@1', 'a@3']);
    expect(runner.stats()).toMatchObject({ applied: 4, duplicates: 3, gaps: 0 });
    const metric = await registry.getSingleMetric('tollgate_projection_duplicates_total')!.get();
    expect(metric.values[0]).toMatchObject({ value: 3, labels: { projection: 'test' } });
    await runner.stop();
  });

  it('keeps the watermark as the minimum over partitions of the last heartbeat', async () => {
    const { log, runner, advance, now } = await setup({ partitions: 3 });
    expect(runner.watermark()).toBeNull();
    expect(runner.health().status).toBe('catching-up');
    log.heartbeat(now());
    await log.settled();
    expect(runner.watermark()).toBe(now());
    expect(runner.health()).toMatchObject({ status: 'ok', watermark: now() });
    advance(5000);
    expect(runner.health()).toMatchObject({ status: 'catching-up' });
    expect(await runner.lag()).toEqual({ events: 0, ms: 5000 });
    log.heartbeat(now());
    await log.settled();
    expect(runner.health().status).toBe('ok');
    await runner.stop();
  });

  it('holds a partition on a gap (watermark frozen, nothing applied) and resumes when the missing event arrives', async () => {
    const { log, projection, runner, now, advance } = await setup({ partitions: 1 });
    log.publish([ev('a', 1)]);
    await log.settled();
    const before = runner.watermark();
    advance(10);
    // a@2 is lost; a@3 and b@1 follow, then heartbeats
    log.publish([ev('a', 3), ev('b', 1)]);
    advance(10);
    log.heartbeat(now());
    await log.settled();
    expect(projection.applied).toEqual(['a@1']);
    expect(runner.stats()).toMatchObject({ gaps: 1, heldPartitions: ['memory:0'] });
    expect(runner.watermark()).toBe(before);
    expect(runner.health()).toMatchObject({ status: 'halted' });
    expect(runner.health().reason).toMatch(/gap .* stream a expected version 2, got 3/);
    const heldAt = runner.position();
    // republished from a@2 on: the missing event, then duplicates
    log.publish([ev('a', 2), ev('a', 3)]);
    await log.settled();
    expect(projection.applied).toEqual(['a@1', 'a@2', 'a@3', 'b@1']);
    expect(runner.stats()).toMatchObject({ gaps: 1, heldPartitions: [] });
    expect(runner.watermark()).toBe(now());
    expect(runner.health().status).toBe('ok');
    // while held, the stored offset stayed at the gap, so a restore from then re-reads it
    expect(heldAt.offsets['memory:0']).toBe('2');
    await runner.stop();
  });

  it('halts on a poison event: never skipped, watermark stops, health reports it', async () => {
    const { log, projection, runner, registry, now, advance } = await setup({ partitions: 1 });
    projection.failOn = 'Broken';
    log.publish([ev('a', 1)]);
    await log.settled();
    expect(runner.isPoisoned()).toBe(false);
    const watermark = runner.watermark();
    const poison = ev('a', 2, 'Broken');
    advance(100);
    log.publish([poison, ev('b', 1)]);
    await log.settled();
    expect(projection.applied).toEqual(['a@1']);
    expect(runner.watermark()).toBe(watermark);
    expect(runner.isPoisoned()).toBe(true);
    expect(runner.health()).toEqual({
      status: 'halted',
      reason: expect.stringContaining('poison event'),
      poison: {
        position: poison.position,
        eventId: poison.id,
        type: 'Broken',
        streamId: 'a',
        error: 'cannot apply Broken',
      },
      watermark,
    });
    // more events and heartbeats change nothing
    advance(100);
    log.heartbeat(now());
    await log.settled();
    expect(runner.watermark()).toBe(watermark);
    expect(projection.applied).toEqual(['a@1']);
    expect(runner.position().streamVersions).toEqual({ a: 1 });
    const metric = await registry.getSingleMetric('tollgate_projection_poison_events_total')!.get();
    expect(metric.values[0]!.value).toBe(1);
    await runner.stop();
  });

  it('restores from a position: resumes at the offsets, ignores what the versions already cover', async () => {
    const first = await setup({ partitions: 2 });
    first.log.publish([ev('a', 1), ev('b', 1), ev('a', 2)]);
    await first.log.settled();
    const snapshot = first.runner.position();
    await first.runner.stop();
    expect(snapshot.streamVersions).toEqual({ a: 2, b: 1 });

    // same log content, a fresh projection restored from the snapshot
    const log = first.log;
    log.publish([ev('a', 3), ev('b', 2)]);
    const projection = new Recording();
    const runner = new ProjectionRunner({
      name: 'restored',
      source: log.source(),
      projection,
      registry: new Registry(),
      from: snapshot,
      logger: quiet,
    });
    await runner.start();
    await log.settled();
    expect(projection.applied.sort()).toEqual(['a@3', 'b@2']);
    expect(runner.stats().duplicates).toBe(0);
    await runner.stop();
  });

  it('exposes its metrics on the registry it was given, not the global one', async () => {
    const { registry, runner, log, now } = await setup();
    log.publish([ev('m', 1)], { heartbeat: false });
    log.heartbeat(now() - 1500);
    await log.settled();
    const text = await registry.metrics();
    expect(text).toContain('tollgate_projection_applied_events_total{projection="test"} 1');
    expect(text).toMatch(/tollgate_projection_watermark_age_seconds\{projection="test"\} 1\.5/);
    expect(text).toContain('tollgate_projection_gaps_total');
    await runner.stop();
  });

  it('recomputes the cached watermark when a heartbeat is applied and when the source gains a partition', async () => {
    // A source that hands out the same partitions array until told otherwise, as the real sources do.
    let partitions: readonly string[] = ['p:0'];
    let deliver: LogBatchHandler = async () => undefined;
    const source: LogSource = {
      start: async (_from, handler) => void (deliver = handler),
      partitions: () => partitions,
      lag: async () => 0,
      stop: async () => undefined,
    };
    const runner = new ProjectionRunner({
      name: 'cached',
      source,
      projection: new Recording(),
      registry: new Registry(),
      logger: quiet,
    });
    await runner.start();
    const beat = (partition: string, watermark: number, n: number): LogItem => ({
      kind: 'heartbeat',
      partition,
      offset: String(n),
      next: String(n + 1),
      watermark,
    });
    expect(runner.watermark()).toBeNull();
    await deliver([beat('p:0', 1000, 0)]);
    expect(runner.watermark()).toBe(1000);
    await deliver([beat('p:0', 2000, 1)]);
    expect(runner.watermark()).toBe(2000);
    partitions = ['p:0', 'p:1']; // a new array: a partition without a heartbeat yet
    expect(runner.watermark()).toBeNull();
    await deliver([beat('p:1', 1500, 0)]);
    expect(runner.watermark()).toBe(1500);
    await runner.stop();
  });
});
