import { describe, expect, it } from '@jest/globals';
import { VersionConflictError } from './errors';
import { GroupCommit, type GroupOutcome, type QueuedAppend } from './group-commit';
import type { AppendResult } from './types';

const ok = (a: QueuedAppend): AppendResult => ({ streamId: a.streamId, version: 1, events: [], replayed: false });

function harness(options: { failGroups?: boolean; conflictOn?: string; maxInFlight?: number } = {}) {
  const groups: string[][] = [];
  const alone: string[] = [];
  let conflicts = 0;
  const commit = new GroupCommit({
    maxInFlight: options.maxInFlight ?? 1,
    insertGroup: async (group): Promise<GroupOutcome[]> => {
      groups.push(group.map((a) => a.streamId));
      if (options.failGroups) throw new Error('unique violation');
      return group.map((a) =>
        a.streamId === options.conflictOn ? { error: new VersionConflictError(a.streamId, 0, 1) } : { result: ok(a) },
      );
    },
    appendAlone: async (a) => {
      alone.push(a.streamId);
      return ok(a);
    },
    onConflict: () => conflicts++,
  });
  const append = (stream: string) => commit.append(stream, 0, [{ type: 'T', data: {} }], {});
  return { append, groups, alone, conflicts: () => conflicts };
}

describe('GroupCommit', () => {
  it('sends the appends of one turn as one group, and a lone append alone', async () => {
    const h = harness();
    await Promise.all(['a', 'b', 'c'].map(h.append));
    await h.append('d');
    expect(h.groups).toEqual([['a', 'b', 'c']]);
    expect(h.alone).toEqual(['d']);
  });

  it('never puts two appends of one stream in a group, and keeps their order', async () => {
    const h = harness();
    await Promise.all(['a', 'b', 'a', 'c', 'a'].map(h.append));
    expect(h.groups[0]).toEqual(['a', 'b', 'c']);
    expect(h.alone).toEqual(['a', 'a']);
  });

  it('gives a conflict to its own append only, and counts it', async () => {
    const h = harness({ conflictOn: 'b' });
    const settled = await Promise.allSettled(['a', 'b', 'c'].map(h.append));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(h.conflicts()).toBe(1);
  });

  it('retries each append alone when the group statement fails as a whole', async () => {
    const h = harness({ failGroups: true });
    const results = await Promise.all(['a', 'b'].map(h.append));
    expect(results.map((r) => r.streamId)).toEqual(['a', 'b']);
    expect(h.alone.sort()).toEqual(['a', 'b']);
  });

  it('collects what arrives while a group is in flight into the next group', async () => {
    const h = harness({ maxInFlight: 1 });
    const first = Promise.all(['a', 'b'].map(h.append));
    await new Promise((resolve) => setImmediate(resolve)); // the first group is on its way
    const second = Promise.all(['c', 'd', 'e'].map(h.append));
    await Promise.all([first, second]);
    expect(h.groups).toEqual([
      ['a', 'b'],
      ['c', 'd', 'e'],
    ]);
  });

  it('with groups in flight at once, the next append of a stream starts only after the previous one is decided', async () => {
    const running = new Map<string, number>();
    const overlaps: string[] = [];
    const order: string[] = [];
    const write = async (streams: string[]) => {
      for (const s of streams) {
        if (running.get(s)) overlaps.push(s);
        running.set(s, (running.get(s) ?? 0) + 1);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
      for (const s of streams) running.set(s, running.get(s)! - 1);
      order.push(...streams);
    };
    const commit = new GroupCommit({
      maxInFlight: 4,
      insertGroup: async (group) => {
        await write(group.map((a) => a.streamId));
        return group.map((a) => ({ result: ok(a) }));
      },
      appendAlone: async (a) => {
        await write([a.streamId]);
        return ok(a);
      },
      onConflict: () => undefined,
    });
    await Promise.all(['a', 'a', 'b', 'a'].map((s) => commit.append(s, 'any', [{ type: 'T', data: {} }], {})));
    expect(overlaps).toEqual([]);
    expect(order.filter((s) => s === 'a')).toHaveLength(3);
  });
});
