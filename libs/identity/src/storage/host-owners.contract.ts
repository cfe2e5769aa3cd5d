import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { HostOwnerStore } from './host-owners';

export interface HostOwnersFixture {
  owners: HostOwnerStore;
  close(): Promise<void>;
}

/**
 * The host owners' contract, run unchanged against every implementation (in memory in unit tests,
 * PostgreSQL in integration tests). Each run uses its own hosts, so implementations may share a database.
 */
export function describeHostOwnersContract(name: string, setup: () => Promise<HostOwnersFixture>): void {
  describe(`HostOwnerStore contract: ${name}`, () => {
    let f: HostOwnersFixture;
    const run = Math.random().toString(36).slice(2, 8);
    const host = (s: string) => `${s}-${run}.example.com`;
    /** Claims and answers the owners it was shown. */
    const claim = async (hosts: string[], projectId: string): Promise<Record<string, string>> => {
      let seen: Record<string, string> = {};
      await f.owners.claim(hosts, projectId, async (owners) => {
        seen = Object.fromEntries(owners);
      });
      return seen;
    };

    beforeAll(async () => {
      f = await setup();
    });
    afterAll(() => f?.close());

    it('the first project to name a host owns it, for good', async () => {
      expect(await claim([host('a'), host('a')], 'prj_1')).toEqual({ [host('a')]: 'prj_1' });
      expect(await claim([host('a'), host('b')], 'prj_2')).toEqual({ [host('a')]: 'prj_1', [host('b')]: 'prj_2' });
      expect(await claim([host('a')], 'prj_1')).toEqual({ [host('a')]: 'prj_1' });
    });

    it('claims nothing when the check refuses', async () => {
      await expect(
        f.owners.claim([host('c')], 'prj_1', async () => {
          throw new Error('refused');
        }),
      ).rejects.toThrow('refused');
      expect(await claim([host('c')], 'prj_2')).toEqual({ [host('c')]: 'prj_2' });
    });

    it('of concurrent claims of a fresh host, one wins and every check sees it', async () => {
      const seen = await Promise.all(['prj_1', 'prj_2', 'prj_3'].map((p) => claim([host('d')], p)));
      const winner = seen[0]![host('d')]!;
      expect(seen.every((s) => s[host('d')] === winner)).toBe(true);
    });

    it('an empty claim asks nothing', async () => {
      let asked = false;
      await f.owners.claim([], 'prj_1', async () => {
        asked = true;
      });
      expect(asked).toBe(false);
    });
  });
}
