// The log-source contract: one suite, run unchanged against every LogSource (in-memory fake in unit
// tests; PostgreSQL and Kafka in integration tests). A factory gives the write side and new readers.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AppendResult, LogItem, LogSource, NewEvent, Offsets, RecordedEvent } from '../src';

export interface LogSourceHarness {
  /** Appends on the write side (a store, or the fake); returns after commit. */
  append(streamId: string, expectedVersion: number, events: NewEvent[]): Promise<AppendResult>;
  /** A new reader of everything appended through this harness. */
  createSource(): LogSource;
  /** Fakes without a clock of their own: advance the clock and make the writer emit a heartbeat. */
  tick?(): void;
  /** The writer's clock (default Date.now). */
  now?(): number;
  /** Fakes: resolves when everything published was delivered (then conditions are checked once, no polling). */
  settle?(): Promise<void>;
  /** How long real infrastructure may take (default 15 s). */
  timeoutMs?: number;
  close(): Promise<void>;
}

export class Recorder {
  readonly items: LogItem[] = [];
  readonly handler = async (batch: readonly LogItem[]) => {
    this.items.push(...batch);
  };
  events(prefix: string): RecordedEvent[] {
    return this.items.flatMap((i) => (i.kind === 'event' && i.event.streamId.startsWith(prefix) ? [i.event] : []));
  }
  /** Resume tokens after the last item seen on each partition. */
  offsets(): Offsets {
    const out: Offsets = {};
    for (const item of this.items) out[item.partition] = item.next;
    return out;
  }
}

export async function waitFor<T>(h: LogSourceHarness, check: () => T): Promise<T> {
  if (h.settle) {
    await h.settle();
    return check();
  }
  const deadline = Date.now() + (h.timeoutMs ?? 15_000);
  for (;;) {
    try {
      return check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

let seq = 0;
function prefix(label: string): string {
  seq += 1;
  return `str_${label}${seq}_${Math.random().toString(36).slice(2, 8)}_`;
}

const metadata = (i: number) => ({ type: 'ThingHappened', data: { i, nested: { b: 1, a: [1, 'x', null] } } });

export function logSourceContract(name: string, setup: () => Promise<LogSourceHarness>): void {
  describe(`LogSource contract: ${name}`, () => {
    let h: LogSourceHarness;
    const sources: LogSource[] = [];
    const open = async (from: Offsets, recorder: Recorder) => {
      const source = h.createSource();
      sources.push(source);
      await source.start(from, recorder.handler);
      return source;
    };

    beforeAll(async () => {
      h = await setup();
    });
    afterAll(async () => {
      for (const s of sources) await s.stop();
      await h?.close();
    });

    it('delivers every committed event once, in stream order, with the same envelope the store returned', async () => {
      const p = prefix('env');
      const recorder = new Recorder();
      const source = await open({}, recorder);
      const appended: RecordedEvent[] = [];
      for (let s = 0; s < 5; s++) {
        const stream = `${p}${s}`;
        appended.push(...(await h.append(stream, 0, [metadata(1), metadata(2)])).events);
        appended.push(...(await h.append(stream, 2, [metadata(3)])).events);
      }
      await waitFor(h, () => expect(recorder.events(p)).toHaveLength(appended.length));
      const got = recorder.events(p);
      for (let s = 0; s < 5; s++) {
        const stream = `${p}${s}`;
        expect(got.filter((e) => e.streamId === stream).map((e) => e.streamVersion)).toEqual([1, 2, 3]);
      }
      const byId = new Map(got.map((e) => [e.id, e]));
      for (const event of appended) expect(byId.get(event.id)).toEqual(event);
      // every item's partition is one of the source's partitions, and a stream stays in one partition
      const partitions = new Set(source.partitions());
      const partitionOfStream = new Map<string, string>();
      for (const item of recorder.items) {
        expect(partitions.has(item.partition)).toBe(true);
        if (item.kind !== 'event') continue;
        const seen = partitionOfStream.get(item.event.streamId);
        if (seen) expect(item.partition).toBe(seen);
        partitionOfStream.set(item.event.streamId, item.partition);
      }
    });

    it('heartbeats reach every partition, and a watermark ≥ T follows every event committed before T', async () => {
      const p = prefix('wm');
      const recorder = new Recorder();
      const source = await open({}, recorder);
      const appended: RecordedEvent[] = [];
      for (let s = 0; s < 8; s++) appended.push(...(await h.append(`${p}${s}`, 0, [metadata(s)])).events);
      // strictly after every acknowledgement above (clocks have millisecond resolution)
      const committedBy = (h.now ?? Date.now)() + 1;
      h.tick?.();
      await waitFor(h, () => {
        for (const partition of source.partitions()) {
          const beat = recorder.items.find(
            (i) => i.partition === partition && i.kind === 'heartbeat' && i.watermark >= committedBy,
          );
          expect(beat).toBeDefined();
        }
      });
      // In each partition, every event committed before `committedBy` precedes the first such heartbeat.
      const ids = new Set(appended.map((e) => e.id));
      for (const partition of source.partitions()) {
        const items = recorder.items.filter((i) => i.partition === partition);
        const beatAt = items.findIndex((i) => i.kind === 'heartbeat' && i.watermark >= committedBy);
        const after = items.slice(beatAt).filter((i) => i.kind === 'event' && ids.has(i.event.id));
        expect(after).toEqual([]);
      }
      // watermarks never go backwards within a partition
      for (const partition of source.partitions()) {
        const marks = recorder.items.flatMap((i) =>
          i.partition === partition && i.kind === 'heartbeat' ? [i.watermark] : [],
        );
        expect(marks).toEqual([...marks].sort((a, b) => a - b));
      }
    });

    it('resumes from stored offsets: nothing applied is delivered again, nothing after is lost', async () => {
      const p = prefix('resume');
      const first = new Recorder();
      const a = await open({}, first);
      for (let s = 0; s < 6; s++) await h.append(`${p}${s}`, 0, [metadata(1), metadata(2)]);
      await waitFor(h, () => expect(first.events(p)).toHaveLength(12));
      await a.stop();
      const offsets = first.offsets();
      const later: RecordedEvent[] = [];
      for (let s = 0; s < 6; s++) later.push(...(await h.append(`${p}${s}`, 2, [metadata(3)])).events);
      const second = new Recorder();
      await open(offsets, second);
      await waitFor(h, () => expect(second.events(p)).toHaveLength(6));
      expect(
        second
          .events(p)
          .map((e) => e.id)
          .sort(),
      ).toEqual(later.map((e) => e.id).sort());
    });
  });
}
