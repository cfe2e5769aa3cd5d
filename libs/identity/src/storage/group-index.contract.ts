import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { userStream } from '@tollgate/contracts';
import { type EventStore, VersionConflictError } from '@tollgate/event-store';
import type { GroupIndex } from './group-index';

export interface GroupIndexFixture {
  /** An event store that runs the index's inline projection. */
  store: EventStore;
  index: GroupIndex;
  close(): Promise<void>;
}

const meta = { metadata: { actor: 'idp:corp', channel: 'scim' } };
const T0 = '2026-11-26T06:00:00.000Z';

/**
 * The group index's contract, run unchanged against every implementation (in memory in unit tests,
 * PostgreSQL in integration tests): it follows the user streams in the append itself, so a read right after
 * an append sees it. Each run uses its own ids, so implementations may share a database.
 */
export function describeGroupIndexContract(name: string, setup: () => Promise<GroupIndexFixture>): void {
  describe(`GroupIndex contract: ${name}`, () => {
    let f: GroupIndexFixture;
    const run = Math.random().toString(36).slice(2, 8);
    const [ann, bob, cat, dan] = ['ann', 'bob', 'cat', 'dan'].map((n) => `usr_${n}${run}`) as [
      string,
      string,
      string,
      string,
    ];
    const create = (userId: string, idp: string | null) =>
      f.store.append(
        userStream(userId),
        0,
        [
          {
            type: 'UserCreated',
            data: {
              userId,
              name: `${idp ?? 'local'}:${userId}`,
              kind: idp ? 'external' : 'internal',
              admin: false,
              email: null,
              ...(idp ? { idp, externalSubject: userId } : {}),
              createdAt: T0,
            },
          },
        ],
        meta,
      );
    const groups = (userId: string, version: number, type: 'GroupsRefreshed' | 'GroupsEdited', list: string[]) =>
      f.store.append(
        userStream(userId),
        version,
        [
          type === 'GroupsRefreshed'
            ? { type, data: { userId, groups: list, refreshedAt: T0 } }
            : { type, data: { userId, groups: list, editedAt: T0 } },
        ],
        meta,
      );

    beforeAll(async () => {
      f = await setup();
      await create(ann, `corp${run}`);
      await create(bob, `corp${run}`);
      await create(cat, `other${run}`);
      await create(dan, null);
      await groups(ann, 1, 'GroupsRefreshed', ['ml-readers', 'ml-admins']);
      await groups(bob, 1, 'GroupsEdited', ['ml-readers']);
      await groups(cat, 1, 'GroupsRefreshed', ['ml-readers']);
      await groups(dan, 1, 'GroupsEdited', ['ml-readers']);
    });
    afterAll(() => f?.close());

    it("lists a connector's users who have a group, by user id, exact and case-sensitive", async () => {
      expect(await f.index.membersOf(`corp${run}`, 'ml-readers')).toEqual([ann, bob].sort());
      expect(await f.index.membersOf(`corp${run}`, 'ml-admins')).toEqual([ann]);
      expect(await f.index.membersOf(`other${run}`, 'ml-readers')).toEqual([cat]);
      expect(await f.index.membersOf(`corp${run}`, 'ML-readers')).toEqual([]);
      expect(await f.index.membersOf(`corp${run}`, 'ml-read')).toEqual([]);
    });

    it('follows each change as soon as its append returns, whichever event carries it', async () => {
      await groups(ann, 2, 'GroupsEdited', ['ml-admins']);
      expect(await f.index.membersOf(`corp${run}`, 'ml-readers')).toEqual([bob]);
      await groups(bob, 2, 'GroupsRefreshed', []);
      expect(await f.index.membersOf(`corp${run}`, 'ml-readers')).toEqual([]);
      // Other events of a user stream leave the set alone.
      await f.store.append(
        userStream(ann),
        3,
        [{ type: 'UserDeactivated', data: { userId: ann, deactivatedAt: T0 } }],
        meta,
      );
      expect(await f.index.membersOf(`corp${run}`, 'ml-admins')).toEqual([ann]);
    });

    it('a refused append changes nothing', async () => {
      await expect(groups(cat, 1, 'GroupsEdited', ['ml-admins'])).rejects.toBeInstanceOf(VersionConflictError);
      expect(await f.index.membersOf(`other${run}`, 'ml-admins')).toEqual([]);
      expect(await f.index.membersOf(`other${run}`, 'ml-readers')).toEqual([cat]);
    });
  });
}
