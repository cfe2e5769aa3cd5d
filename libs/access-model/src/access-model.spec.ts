import type { RecordedEvent } from '@tollgate/event-store';
import { AccessModel } from './access-model';
import { keyState } from './model/records';
import { unpackStrings } from './snapshot';
import { ev, iso, recorded, sha, T0, throughStorage } from './testing';

const HOUR = 3_600_000;
const clock = () => T0 + 10 * HOUR;

function modelOf(events: readonly RecordedEvent[], now: () => number = clock): AccessModel {
  const model = new AccessModel({ now });
  for (const e of events) model.apply(e);
  return model;
}

/** All orderings of `items` (n! of them: keep n small). */
function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const p of permutations(rest)) yield [items[i]!, ...p];
  }
}

/** A seeded interleaving of streams that keeps each stream's own order (what a partitioned log delivers). */
function interleave(streams: readonly RecordedEvent[][], seed: number): RecordedEvent[] {
  let s = seed >>> 0;
  const rnd = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const queues = streams.map((q) => [...q]);
  const out: RecordedEvent[] = [];
  while (queues.some((q) => q.length > 0)) {
    const open = queues.filter((q) => q.length > 0);
    out.push(open[Math.floor(rnd() * open.length)]!.shift()!);
  }
  return out;
}

interface Probe {
  secrets?: string[];
  keyIds?: string[];
  userIds?: string[];
  names?: string[];
  roles?: [string, string][];
  routes?: [string, string][];
  deploymentIds?: string[];
  slots?: [string, 'primary' | 'secondary'][];
  kids?: string[];
  eventIds?: string[];
}

const plain = (_key: string, value: unknown) => (value instanceof Set ? [...value].sort() : value);

/** Everything a reader can ask the model about the probed entities, as one comparable string. */
function answers(m: AccessModel, p: Probe): string {
  const { appliedEvents: _ignored, ...counts } = m.counts();
  return JSON.stringify(
    {
      keys: (p.secrets ?? []).map((s) => m.keyByHash(sha(s)) ?? null),
      keysById: (p.keyIds ?? []).map((id) => m.keyById(id) ?? null),
      keysOfUser: (p.userIds ?? []).map((id) => m.keysOfUser(id).map((k) => k.keyId)),
      users: (p.userIds ?? []).map((id) => m.user(id) ?? null),
      byName: (p.names ?? []).map((n) => m.userByName(n)?.userId ?? null),
      roles: (p.roles ?? []).map(([project, user]) => m.roleOf(project, user) ?? null),
      routes: (p.routes ?? []).map(([host, path]) => m.routeDeployment(host, path)?.deploymentId ?? null),
      deployments: (p.deploymentIds ?? []).map((id) => m.deploymentById(id) ?? null),
      slots: (p.slots ?? []).map(([d, s]) => m.accessKey(d, s)?.keyId ?? null),
      signingKeys: (p.kids ?? []).map((kid) => m.signingKey(kid) ?? null),
      revocations: (p.eventIds ?? []).map((id) => m.revocationApplied(id) ?? null),
      policy: m.policy(),
      keyPolicy: m.keyPolicy(),
      jwks: m.jwks(),
      counts,
    },
    plain,
  );
}

describe('AccessModel', () => {
  describe('order independence', () => {
    const keysAndUsers = [
      ev.userKeyCreated('key_1', 'usr_1', 'secret-1'),
      ev.keyRevoked('key_1', 'leaked'),
      ev.userCreated('usr_1', 'alice', { kind: 'external', idp: 'corp', externalSubject: 'sub-1' }),
      ev.groupsRefreshed('usr_1', 2, ['ml-team'], T0 + 2 * HOUR),
      ev.groupsRefreshed('usr_1', 3, ['stale-group'], T0 + HOUR), // older refreshedAt: ignored whatever the order
      ev.userDeactivated('usr_1', 4),
      ev.userKeyCreated('key_2', 'usr_1', 'secret-2', { scope: 'inference' }),
    ];
    const keysAndUsersProbe: Probe = {
      secrets: ['secret-1', 'secret-2'],
      keyIds: ['key_1', 'key_2'],
      userIds: ['usr_1'],
      names: ['alice'],
      eventIds: ['evt_key-key_1_2'],
    };

    it('gives the same answers for every permutation of key and user events', () => {
      const expected = answers(modelOf(keysAndUsers), keysAndUsersProbe);
      let n = 0;
      for (const order of permutations(keysAndUsers)) {
        expect(answers(modelOf(order), keysAndUsersProbe)).toBe(expected);
        n++;
      }
      expect(n).toBe(5040);
      const m = modelOf(keysAndUsers);
      expect(m.keyByHash(sha('secret-1'))).toMatchObject({
        revoked: true,
        revocationReason: 'leaked',
        revocationEventId: 'evt_key-key_1_2',
      });
      expect(m.user('usr_1')).toMatchObject({
        deactivated: true,
        groupsRefreshedAt: T0 + 2 * HOUR,
        idp: 'corp',
        externalSubject: 'sub-1',
      });
      expect([...m.user('usr_1')!.groups]).toEqual(['ml-team']);
    });

    const directory = [
      ev.deployment('dep_1', 1, { hosts: ['a.example.com'], pathPrefixes: ['/v1/a'] }),
      ev.deployment('dep_1', 2, { hosts: ['b.example.com'], pathPrefixes: ['/v1/b'], grantedGroups: ['ml'] }),
      ev.projectCreated('prj_1', 'usr_1'),
      ev.collaboratorSet('prj_1', 2, 'usr_2', 'contributor'),
      ev.collaboratorRemoved('prj_1', 3, 'usr_2'),
      ev.externalAccessPolicy(1, 24),
      ev.externalAccessPolicy(2, 0),
    ];
    const directoryProbe: Probe = {
      roles: [
        ['prj_1', 'usr_1'],
        ['prj_1', 'usr_2'],
      ],
      routes: [
        ['a.example.com', '/v1/a'],
        ['b.example.com', '/v1/b/x'],
      ],
      deploymentIds: ['dep_1'],
    };

    it('gives the same answers for every permutation of project, deployment and policy events', () => {
      const expected = answers(modelOf(directory), directoryProbe);
      for (const order of permutations(directory)) expect(answers(modelOf(order), directoryProbe)).toBe(expected);
      const m = modelOf(directory);
      expect(m.routeDeployment('a.example.com', '/v1/a')).toBeUndefined();
      expect(m.routeDeployment('b.example.com', '/v1/b/x')?.deploymentId).toBe('dep_1');
      expect(m.roleOf('prj_1', 'usr_1')).toBe('owner');
      expect(m.roleOf('prj_1', 'usr_2')).toBeUndefined();
      expect(m.policy().requireExternalUserLoginAfterHours).toBe(0);
    });

    it('gives the same answers for interleavings of many streams (each stream in its own order)', () => {
      const jwk = signingJwk();
      const streams = [
        [ev.userKeyCreated('key_1', 'usr_1', 'secret-1'), ev.keyRevoked('key_1')],
        [ev.userKeyCreated('key_2', 'usr_2', 'secret-2')],
        [ev.accessKeyCreated('key_a1', 'dep_1', 'primary', 'access-1', T0), ev.keyRevoked('key_a1', 'rotated')],
        [ev.accessKeyCreated('key_a2', 'dep_1', 'primary', 'access-2', T0 + 1)],
        [
          ev.userCreated('usr_1', 'alice'),
          ev.groupsRefreshed('usr_1', 2, ['g1'], T0 + HOUR),
          ev.userDeactivated('usr_1', 3),
        ],
        [ev.userCreated('usr_2', 'bob', { admin: true })],
        [ev.projectCreated('prj_1', 'usr_1'), ev.collaboratorSet('prj_1', 2, 'usr_2', 'admin')],
        [
          ev.deployment('dep_1', 1),
          ev.deployment('dep_1', 2, { hosts: ['Models.Example.com'], pathPrefixes: ['/v1', '/v2'] }),
        ],
        [ev.deployment('dep_2', 1, { pathPrefixes: ['/v1/special'] })],
        [ev.externalAccessPolicy(1, 48)],
        [ev.keyPolicy(1, 30, 90), ev.keyPolicy(2, 30, null)],
        [
          ev.signingKeyPublished(1, 'kid-1', jwk),
          ev.signingKeyPublished(2, 'kid-2', jwk),
          ev.signingKeyRetired(3, 'kid-1', T0),
        ],
      ];
      const probe: Probe = {
        secrets: ['secret-1', 'secret-2', 'access-1', 'access-2'],
        userIds: ['usr_1', 'usr_2'],
        names: ['alice', 'bob'],
        roles: [
          ['prj_1', 'usr_1'],
          ['prj_1', 'usr_2'],
        ],
        routes: [
          ['models.example.com', '/v1/x'],
          ['models.example.com:443', '/v1/special/y'],
          ['models.example.com', '/v3'],
        ],
        deploymentIds: ['dep_1', 'dep_2'],
        slots: [
          ['dep_1', 'primary'],
          ['dep_1', 'secondary'],
        ],
        kids: ['kid-1', 'kid-2'],
        eventIds: ['evt_key-key_1_2', 'evt_key-key_a1_2'],
      };
      const expected = answers(modelOf(streams.flat()), probe);
      for (let seed = 1; seed <= 300; seed++) expect(answers(modelOf(interleave(streams, seed)), probe)).toBe(expected);
      for (let seed = 1; seed <= 100; seed++) {
        // Even arbitrary orders (not only per-stream order) converge: the model keeps versions and tombstones.
        const shuffled = interleave(
          streams.flat().map((e) => [e]),
          seed,
        );
        expect(answers(modelOf(shuffled), probe)).toBe(expected);
      }
      const m = modelOf(streams.flat());
      expect(m.accessKey('dep_1', 'primary')?.keyId).toBe('key_a2');
      expect(m.routeDeployment('models.example.com', '/v1/special/y')?.deploymentId).toBe('dep_2');
      expect(m.routeDeployment('models.example.com', '/v3')).toBeUndefined();
      expect(m.signingKey('kid-1')).toBeUndefined();
      expect(m.jwks().keys.map((k) => k.kid)).toEqual(['kid-2']);
      expect(m.keyPolicy()).toEqual({ defaultLifetimeDays: 30, maxLifetimeDays: null });
    });
  });

  describe('tombstones', () => {
    it('a KeyRevoked before its KeyCreated leaves a tombstone: the key is born revoked', () => {
      const m = modelOf([ev.keyRevoked('key_1', 'admin', T0 + 5), ev.userKeyCreated('key_1', 'usr_1', 'secret-1')]);
      const key = m.keyByHash(sha('secret-1'))!;
      expect(key).toMatchObject({
        keyId: 'key_1',
        revoked: true,
        revokedAt: T0 + 5,
        revocationReason: 'admin',
        revocationEventId: 'evt_key-key_1_2',
      });
      expect(keyState(key, T0)).toBe('revoked');
      expect(m.counts()).toMatchObject({ keys: 1, revokedKeys: 1 });
    });

    it('a revoked access key never becomes the slot key, whatever the order', () => {
      const m = modelOf([
        ev.keyRevoked('key_a1', 'slot-revoked'),
        ev.accessKeyCreated('key_a1', 'dep_1', 'secondary', 'acc'),
      ]);
      expect(m.accessKey('dep_1', 'secondary')).toBeUndefined();
      expect(m.keyByHash(sha('acc'))?.revoked).toBe(true);
    });

    it('a UserDeactivated before UserCreated leaves the user deactivated', () => {
      const m = modelOf([ev.userDeactivated('usr_1', 2, T0 + 7), ev.userCreated('usr_1', 'alice')]);
      expect(m.user('usr_1')).toMatchObject({ deactivated: true, deactivatedAt: T0 + 7 });
      expect(m.userByName('alice')?.deactivated).toBe(true);
    });

    it('a UserReactivated restores the user; the keys revoked with the deactivation stay revoked', () => {
      const m = modelOf([
        ev.userCreated('usr_1', 'alice'),
        ev.userKeyCreated('key_1', 'usr_1', 's'),
        ev.userDeactivated('usr_1', 2, T0 + 7),
        ev.keyRevoked('key_1', 'user-deactivated', T0 + 8),
        ev.userReactivated('usr_1', 3, T0 + 9),
      ]);
      expect(m.user('usr_1')).toMatchObject({ deactivated: false, deactivatedAt: null });
      expect(m.userByName('alice')?.deactivated).toBe(false);
      expect(m.keyByHash(sha('s'))?.revoked).toBe(true);
      // And a later deactivation holds again.
      const again = modelOf([
        ev.userCreated('usr_1', 'alice'),
        ev.userDeactivated('usr_1', 2, T0 + 7),
        ev.userReactivated('usr_1', 3, T0 + 9),
        ev.userDeactivated('usr_1', 4, T0 + 11),
      ]);
      expect(again.user('usr_1')).toMatchObject({ deactivated: true, deactivatedAt: T0 + 11 });
    });

    it('the first revocation of a key is kept', () => {
      const m = modelOf([
        ev.userKeyCreated('key_1', 'usr_1', 's'),
        ev.keyRevoked('key_1', 'user', T0 + 1),
        recorded('key-key_1', 3, 'KeyRevoked', { keyId: 'key_1', reason: 'admin', revokedAt: iso(T0 + 2) }),
      ]);
      expect(m.keyById('key_1')).toMatchObject({
        revokedAt: T0 + 1,
        revocationReason: 'user',
        revocationEventId: 'evt_key-key_1_2',
      });
    });
  });

  describe('KeyRotated', () => {
    // The key expires at T0 + 24 h; the rotation ends it at T0 + 2 h.
    const created = ev.userKeyCreated('key_1', 'usr_1', 'secret-1');
    const rotated = ev.keyRotated('key_1', 'key_2', T0 + 2 * HOUR);

    it('ends the old key at revokesAt in every order: valid before, expired from then on', () => {
      for (const order of [
        [created, rotated],
        [rotated, created],
      ]) {
        const key = modelOf(order).keyByHash(sha('secret-1'))!;
        expect(key.expiresAt).toBe(T0 + 2 * HOUR);
        expect(keyState(key, T0 + 2 * HOUR - 1)).toBe('valid');
        expect(keyState(key, T0 + 2 * HOUR)).toBe('expired');
      }
    });

    it('never extends a key: a revokesAt after its expiry changes nothing', () => {
      const key = modelOf([created, ev.keyRotated('key_1', 'key_2', T0 + 48 * HOUR)]).keyById('key_1')!;
      expect(key.expiresAt).toBe(T0 + 24 * HOUR);
    });

    it('then the KeyRevoked (reason rotated) revokes it', () => {
      const revoked = recorded('key-key_1', 3, 'KeyRevoked', {
        keyId: 'key_1',
        reason: 'rotated',
        revokedAt: iso(T0 + 2 * HOUR),
      });
      const key = modelOf([created, rotated, revoked]).keyById('key_1')!;
      expect(key).toMatchObject({ revoked: true, revocationReason: 'rotated', expiresAt: T0 + 2 * HOUR });
    });

    it('is an access reduction (confirmable), and the end of the key survives a snapshot', () => {
      const m = modelOf([created, rotated], () => T0 + 500);
      expect(m.revocationApplied(rotated.id)).toBe(T0 + 500);
      const restored = AccessModel.restore(throughStorage(m.snapshot()));
      expect(restored.keyById('key_1')!.expiresAt).toBe(T0 + 2 * HOUR);
    });
  });

  describe('GroupsRefreshed', () => {
    it('ignores a refresh older than the one held, in either order', () => {
      const newer = ev.groupsRefreshed('usr_1', 2, ['new'], T0 + 2 * HOUR);
      const older = ev.groupsRefreshed('usr_1', 3, ['old'], T0 + HOUR);
      for (const order of [
        [newer, older],
        [older, newer],
      ]) {
        const m = modelOf([ev.userCreated('usr_1', 'alice'), ...order]);
        expect([...m.user('usr_1')!.groups]).toEqual(['new']);
        expect(m.user('usr_1')!.groupsRefreshedAt).toBe(T0 + 2 * HOUR);
      }
    });

    it('replaces the whole set; on equal times the later stream version wins', () => {
      const m = modelOf([
        ev.userCreated('usr_1', 'alice'),
        ev.groupsRefreshed('usr_1', 3, ['b', 'c'], T0 + HOUR),
        ev.groupsRefreshed('usr_1', 2, ['a'], T0 + HOUR),
      ]);
      expect([...m.user('usr_1')!.groups].sort()).toEqual(['b', 'c']);
    });

    it('a SCIM edit (GroupsEdited) replaces the set but leaves the login clock; a later sign-in moves it', () => {
      const signedIn = ev.groupsRefreshed('usr_1', 2, ['a', 'b'], T0);
      const edited = ev.groupsEdited('usr_1', 3, ['b'], T0 + 5 * HOUR);
      const again = ev.groupsRefreshed('usr_1', 4, ['b', 'c'], T0 + 6 * HOUR);
      for (const order of [
        [signedIn, edited],
        [edited, signedIn],
      ]) {
        const m = modelOf([ev.userCreated('usr_1', 'alice'), ...order]);
        const user = m.user('usr_1')!;
        expect([...user.groups]).toEqual(['b']);
        expect(user.groupsRefreshedAt).toBe(T0);
        expect(user.groupsChangedAt).toBe(T0 + 5 * HOUR);
      }
      const m = modelOf([ev.userCreated('usr_1', 'alice'), signedIn, edited, again]);
      expect([...m.user('usr_1')!.groups]).toEqual(['b', 'c']);
      expect(m.user('usr_1')!.groupsRefreshedAt).toBe(T0 + 6 * HOUR);
    });

    it('a login older than the set held only moves the login clock', () => {
      const m = modelOf([
        ev.userCreated('usr_1', 'alice'),
        ev.groupsRefreshed('usr_1', 2, ['a'], T0),
        ev.groupsEdited('usr_1', 3, [], T0 + 2 * HOUR),
        ev.groupsRefreshed('usr_1', 4, [], T0 + HOUR),
      ]);
      expect([...m.user('usr_1')!.groups]).toEqual([]);
      expect(m.user('usr_1')!.groupsRefreshedAt).toBe(T0 + HOUR);
      expect(m.user('usr_1')!.groupsChangedAt).toBe(T0 + 2 * HOUR);
    });

    it('a SCIM edit that shrinks the set is an access reduction (confirmable)', () => {
      const m = modelOf([
        ev.userCreated('usr_1', 'alice'),
        ev.groupsRefreshed('usr_1', 2, ['a', 'b'], T0),
        ev.groupsEdited('usr_1', 3, ['b'], T0 + HOUR),
      ]);
      expect(m.revocationApplied('evt_user-usr_1_3')).toBeDefined();
    });

    it('a SCIM edit of a user who never signed in: groups held, no login time', () => {
      const m = modelOf([ev.groupsEdited('usr_1', 2, ['ML'], T0 + HOUR), ev.userCreated('usr_1', 'alice')]);
      expect([...m.user('usr_1')!.groups]).toEqual(['ML']);
      expect(m.user('usr_1')!.groupsRefreshedAt).toBeNull();
      expect(m.user('usr_1')!.groupsChangedAt).toBe(T0 + HOUR);
    });

    it('holds groups that arrive before the user', () => {
      const m = modelOf([ev.groupsRefreshed('usr_1', 2, ['ML'], T0 + HOUR), ev.userCreated('usr_1', 'alice')]);
      expect([...m.user('usr_1')!.groups]).toEqual(['ML']);
      expect(m.user('usr_1')!.groups.has('ml')).toBe(false);
    });
  });

  describe('routing', () => {
    const m = modelOf([
      ev.deployment('dep_root', 1, { hosts: ['models.example.com'], pathPrefixes: ['/'] }),
      ev.deployment('dep_a', 1, { hosts: ['models.example.com'], pathPrefixes: ['/v1/a'] }),
      ev.deployment('dep_ax', 1, { hosts: ['models.example.com'], pathPrefixes: ['/v1/a/x/'] }),
      ev.deployment('dep_other', 1, { hosts: ['Other.Example.COM', '[::1]', '10.0.0.1'], pathPrefixes: ['/llm'] }),
      ev.deployment('dep_nohost', 1, { hosts: [], pathPrefixes: ['/'] }),
    ]);
    const route = (host: string, path: string) => m.routeDeployment(host, path)?.deploymentId ?? null;

    it('matches a prefix only at a path-segment boundary, longest first', () => {
      expect(route('models.example.com', '/v1/a')).toBe('dep_a');
      expect(route('models.example.com', '/v1/a/')).toBe('dep_a');
      expect(route('models.example.com', '/v1/a/y')).toBe('dep_a');
      expect(route('models.example.com', '/v1/ab')).toBe('dep_root');
      expect(route('models.example.com', '/v1/a/x')).toBe('dep_ax');
      expect(route('models.example.com', '/v1/a/x/predict')).toBe('dep_ax');
      expect(route('models.example.com', '/v1/a/xy')).toBe('dep_a');
      expect(route('models.example.com', '/')).toBe('dep_root');
      expect(route('models.example.com', '')).toBe('dep_root');
    });

    it('compares hosts case-insensitively and without port', () => {
      expect(route('MODELS.example.com:8443', '/v1/a')).toBe('dep_a');
      expect(route('other.example.com', '/llm/chat')).toBe('dep_other');
      expect(route('other.example.com:80', '/llm')).toBe('dep_other');
      expect(route('[::1]:8080', '/llm')).toBe('dep_other');
      expect(route('10.0.0.1:9000', '/llm')).toBe('dep_other');
      expect(route('other.example.com', '/llmx')).toBeNull();
      expect(route('unknown.example.com', '/')).toBeNull();
    });

    it('ignores the query string and resolves dot segments and repeated slashes', () => {
      expect(route('models.example.com', '/v1/a?x=/v1/a/x')).toBe('dep_a');
      expect(route('models.example.com', '/v1/a/x/../y')).toBe('dep_a');
      expect(route('models.example.com', '/v1/a/%2e%2e/b')).toBe('dep_root');
      expect(route('models.example.com', '//v1//a///x')).toBe('dep_ax');
      expect(route('other.example.com', '/llm/../../llm')).toBe('dep_other');
    });

    it('moves routes when a deployment is updated, and resolves a contested prefix to the smallest id', () => {
      const moved = modelOf([
        ev.deployment('dep_b', 1, { hosts: ['h.example.com'], pathPrefixes: ['/p'] }),
        ev.deployment('dep_a', 1, { hosts: ['h.example.com'], pathPrefixes: ['/p'] }),
      ]);
      expect(moved.routeDeployment('h.example.com', '/p')?.deploymentId).toBe('dep_a');
      moved.apply(ev.deployment('dep_a', 2, { hosts: ['h.example.com'], pathPrefixes: ['/q'] }));
      expect(moved.routeDeployment('h.example.com', '/p')?.deploymentId).toBe('dep_b');
      expect(moved.routeDeployment('h.example.com', '/q/1')?.deploymentId).toBe('dep_a');
      moved.apply(ev.deployment('dep_b', 2, { hosts: [], pathPrefixes: ['/p'] }));
      expect(moved.routeDeployment('h.example.com', '/p')).toBeUndefined();
      expect(moved.deploymentById('dep_b')?.hosts).toEqual([]);
    });
  });

  describe('lookups', () => {
    it('keeps keys by hash and id, with expiry', () => {
      const m = modelOf([
        ev.userKeyCreated('key_1', 'usr_1', 's1', { expiresAt: iso(T0 + HOUR) }),
        ev.userKeyCreated('key_2', 'usr_1', 's2', { expiresAt: null }),
      ]);
      const k1 = m.keyByHash(sha('s1'))!;
      expect(k1).toMatchObject({
        keyId: 'key_1',
        kind: 'user-key',
        userId: 'usr_1',
        scope: 'management',
        deploymentId: null,
        expiresAt: T0 + HOUR,
      });
      expect(keyState(k1, T0 + HOUR - 1)).toBe('valid');
      expect(keyState(k1, T0 + HOUR)).toBe('expired');
      expect(keyState(m.keyById('key_2')!, T0 + 1e12)).toBe('valid');
      expect(m.keyByHash(sha('unknown'))).toBeUndefined();
    });

    it("lists a user's keys, revoked ones included, oldest first", () => {
      const m = modelOf([
        ev.userKeyCreated('key_2', 'usr_1', 's2', { createdAt: iso(T0 + 2) }),
        ev.userKeyCreated('key_1', 'usr_1', 's1', { createdAt: iso(T0 + 1) }),
        ev.userKeyCreated('key_3', 'usr_2', 's3'),
        ev.keyRevoked('key_2'),
      ]);
      expect(m.keysOfUser('usr_1').map((k) => [k.keyId, k.revoked])).toEqual([
        ['key_1', false],
        ['key_2', true],
      ]);
      expect(
        AccessModel.restore(m.snapshot())
          .keysOfUser('usr_1')
          .map((k) => k.keyId),
      ).toEqual(['key_1', 'key_2']);
      expect(m.keysOfUser('usr_none')).toEqual([]);
    });

    it('rotates access-key slots', () => {
      const m = modelOf([ev.accessKeyCreated('key_a1', 'dep_1', 'primary', 'a1', T0)]);
      expect(m.accessKey('dep_1', 'primary')?.keyId).toBe('key_a1');
      m.apply(ev.accessKeyCreated('key_a2', 'dep_1', 'primary', 'a2', T0 + 1));
      m.apply(ev.keyRevoked('key_a1', 'rotated'));
      expect(m.accessKey('dep_1', 'primary')?.keyId).toBe('key_a2');
      expect(m.keyByHash(sha('a2'))).toMatchObject({
        deploymentId: 'dep_1',
        slot: 'primary',
        userId: null,
        scope: null,
      });
      m.apply(ev.keyRevoked('key_a2', 'slot-revoked'));
      expect(m.accessKey('dep_1', 'primary')).toBeUndefined();
    });

    it('has default policies', () => {
      const m = new AccessModel();
      expect(m.policy()).toEqual({ requireExternalUserLoginAfterHours: -1 });
      expect(m.keyPolicy()).toEqual({ defaultLifetimeDays: 365, maxLifetimeDays: 365 });
      expect(m.jwks()).toEqual({ keys: [] });
    });

    it('lists collaborators and projects', () => {
      const m = modelOf([
        ev.projectCreated('prj_1', 'usr_1'),
        ev.collaboratorSet('prj_1', 2, 'usr_2', 'viewer'),
        ev.collaboratorSet('prj_1', 3, 'usr_1', 'admin'),
      ]);
      expect([...m.collaborators('prj_1')]).toEqual([
        ['usr_1', 'admin'],
        ['usr_2', 'viewer'],
      ]);
      expect(m.project('prj_1')).toMatchObject({ ownerId: 'usr_1' });
      expect(m.collaborators('prj_none').size).toBe(0);
    });

    it('removes a retired signing key from its retiredAt on', () => {
      let now = T0;
      const jwk = signingJwk();
      const m = modelOf(
        [ev.signingKeyPublished(1, 'kid-1', jwk), ev.signingKeyRetired(2, 'kid-1', T0 + HOUR)],
        () => now,
      );
      expect(m.signingKey('kid-1')).toMatchObject({ kid: 'kid-1', kty: 'OKP' });
      expect(m.jwks().keys).toHaveLength(1);
      now = T0 + HOUR;
      expect(m.signingKey('kid-1')).toBeUndefined();
      expect(m.jwks().keys).toHaveLength(0);
    });
  });

  describe('revocation bookkeeping', () => {
    it('records when each KeyRevoked was applied and tells listeners once', () => {
      let now = T0 + 123;
      const m = new AccessModel({ now: () => now });
      const heard: [string, number, string | undefined][] = [];
      const off = m.onRevocationApplied((eventId, at, key) => heard.push([eventId, at, key?.keyId]));
      m.apply(ev.userKeyCreated('key_1', 'usr_1', 's'));
      m.apply(ev.keyRevoked('key_1'));
      now += 1000;
      m.apply(ev.keyRevoked('key_1'));
      m.apply(ev.keyRevoked('key_9'));
      expect(m.revocationApplied('evt_key-key_1_2')).toBe(T0 + 123);
      expect(m.revocationApplied('evt_key-key_9_2')).toBe(T0 + 1123);
      expect(m.revocationApplied('evt_other')).toBeUndefined();
      expect(heard).toEqual([
        ['evt_key-key_1_2', T0 + 123, 'key_1'],
        ['evt_key-key_9_2', T0 + 1123, undefined],
      ]);
      off();
      m.apply(recorded('key-key_1', 3, 'KeyRevoked', { keyId: 'key_1', reason: 'user', revokedAt: iso(T0) }));
      expect(heard).toHaveLength(2);
    });
  });

  describe('access-reducing events', () => {
    it('records and announces every access-reducing event with its type and store time, and only those', () => {
      const m = new AccessModel({ now: () => T0 + 500 });
      const heard: [string, string, number, number][] = [];
      m.onAccessReduced((a) => heard.push([a.eventId, a.type, a.appliedAt, a.committedAt]));
      const events = [
        ev.userCreated('usr_1', 'alice'),
        ev.groupsRefreshed('usr_1', 2, ['ml', 'research'], T0),
        ev.groupsRefreshed('usr_1', 3, ['ml'], T0 + 1), // shrunk
        ev.groupsRefreshed('usr_1', 4, ['ml', 'ops'], T0 + 2), // grown
        ev.projectCreated('prj_1', 'usr_0'),
        ev.collaboratorSet('prj_1', 2, 'usr_1', 'admin'),
        ev.collaboratorSet('prj_1', 3, 'usr_1', 'viewer'), // demoted
        ev.collaboratorRemoved('prj_1', 4, 'usr_1'),
        ev.deployment('dep_1', 1, { grantedGroups: ['ml'] }),
        ev.deployment('dep_1', 2, { grantedGroups: ['ml'], name: 'renamed' }),
        ev.deployment('dep_1', 3, { grantedGroups: [] }), // narrowed
        ev.externalAccessPolicy(1, 24), // tightened
        ev.externalAccessPolicy(2, -1),
        ev.userDeactivated('usr_1', 5),
      ];
      for (const e of events) m.apply(e);
      m.apply(ev.collaboratorRemoved('prj_1', 4, 'usr_1')); // a duplicate is announced once
      const reducing = [2, 6, 7, 10, 11, 13].map((i) => events[i]!);
      expect(heard).toEqual(reducing.map((e) => [e.id, e.type, T0 + 500, e.recordedAt.getTime()]));
      for (const e of reducing) expect(m.revocationApplied(e.id)).toBe(T0 + 500);
      expect(m.revocationApplied(events[3]!.id)).toBeUndefined();
      expect([...m.heldReductions()].map(([id]) => id)).toEqual(reducing.map((e) => e.id));
    });

    it('keeps what it holds across a snapshot', () => {
      const m = new AccessModel({ now: () => T0 + 500 });
      m.apply(ev.projectCreated('prj_1', 'usr_0'));
      const removal = ev.collaboratorRemoved('prj_1', 2, 'usr_0');
      m.apply(removal);
      const restored = AccessModel.restore(throughStorage(m.snapshot()));
      expect([...restored.heldReductions()]).toEqual([[removal.id, T0 + 500]]);
    });
  });

  it('a throwing revocation listener is reported, and the revocation still applied', () => {
    const errors: unknown[] = [];
    const m = new AccessModel({ now: clock, onListenerError: (e) => errors.push(e) });
    m.onRevocationApplied(() => {
      throw new Error('listener bug');
    });
    m.apply(ev.userKeyCreated('key_1', 'usr_1', 's'));
    expect(() => m.apply(ev.keyRevoked('key_1'))).not.toThrow();
    expect(m.keyById('key_1')?.revoked).toBe(true);
    expect(errors).toHaveLength(1);
  });

  describe('poison events (fail closed)', () => {
    it('throws on an unknown type', () => {
      expect(() => new AccessModel().apply(recorded('x-1', 1, 'KeyTeleported', {}))).toThrow(/unknown event type/);
    });
    it('throws on invalid data', () => {
      expect(() =>
        new AccessModel().apply(recorded('key-k', 1, 'KeyCreated', { keyId: 'k', kind: 'user-key' })),
      ).toThrow();
      expect(() =>
        new AccessModel().apply(
          recorded('user-u', 1, 'UserCreated', {
            userId: 'u',
            name: 'a',
            kind: 'robot',
            admin: false,
            email: null,
            createdAt: iso(T0),
          }),
        ),
      ).toThrow();
    });
    it('throws on a user key without owner or an access key without slot', () => {
      expect(() => new AccessModel().apply(ev.userKeyCreated('k', 'u', 's', { userId: undefined }))).toThrow(/userId/);
      const bad = ev.accessKeyCreated('k', 'dep', 'primary', 's');
      delete (bad.data as { slot?: string }).slot;
      expect(() => new AccessModel().apply(bad)).toThrow(/slot/);
    });
    it('ignores heartbeats should a source pass one', () => {
      const m = new AccessModel();
      m.apply(recorded('p', 1, 'Heartbeat', { watermark: 1 }));
      expect(m.counts().appliedEvents).toBe(0);
    });
  });

  describe('snapshots', () => {
    const jwk = signingJwk();
    const history = [
      ev.userCreated('usr_1', 'alice', {
        kind: 'external',
        idp: 'corp',
        externalSubject: 's1',
        email: 'a@example.com',
      }),
      ev.groupsRefreshed('usr_1', 2, ['g1', 'g2'], T0 + HOUR),
      ev.groupsEdited('usr_1', 3, ['g1'], T0 + 2 * HOUR),
      ev.userCreated('usr_2', 'bob', { admin: true, kind: 'machine' }),
      ev.userDeactivated('usr_2', 2),
      ev.userDeactivated('usr_3', 2), // pending: its UserCreated comes later
      ev.groupsRefreshed('usr_3', 3, ['later'], T0 + HOUR),
      ev.userKeyCreated('key_1', 'usr_1', 'k1'),
      ev.userKeyCreated('key_2', 'usr_2', 'k2', { scope: 'inference', expiresAt: null }),
      ev.keyRevoked('key_2', 'user-deactivated'),
      ev.keyRevoked('key_9', 'leaked'), // tombstone
      ev.accessKeyCreated('key_a1', 'dep_1', 'primary', 'a1'),
      ev.accessKeyCreated('key_a2', 'dep_1', 'secondary', 'a2'),
      ev.keyRevoked('key_a2', 'slot-revoked'),
      ev.projectCreated('prj_1', 'usr_1'),
      ev.collaboratorSet('prj_1', 2, 'usr_2', 'contributor'),
      ev.collaboratorRemoved('prj_1', 3, 'usr_2'),
      ev.deployment('dep_1', 1, {
        hosts: ['Models.example.com:443'],
        pathPrefixes: ['/v1', '/v2/x'],
        grantedGroups: ['g1'],
        environment: 'prod',
      }),
      ev.deployment('dep_2', 1, { pathPrefixes: ['/v1/b'], credentialKinds: ['jwt'], authentication: false }),
      ev.externalAccessPolicy(1, 12),
      ev.keyPolicy(1, 10, 20),
      ev.signingKeyPublished(1, 'kid-1', jwk),
      ev.signingKeyPublished(2, 'kid-2', jwk, T0 + HOUR),
      ev.signingKeyRetired(3, 'kid-1', T0 + 20 * HOUR),
    ];
    const later = [
      ev.userCreated('usr_3', 'carol'),
      ev.userKeyCreated('key_9', 'usr_3', 'k9'),
      ev.groupsRefreshed('usr_1', 4, ['old'], T0), // older: ignored
      ev.collaboratorSet('prj_1', 2, 'usr_2', 'owner'), // stale version: ignored
      ev.deployment('dep_1', 2, { hosts: ['models.example.com'], pathPrefixes: ['/v3'] }),
      ev.keyRevoked('key_1'),
    ];
    const probe: Probe = {
      secrets: ['k1', 'k2', 'k9', 'a1', 'a2', 'none'],
      keyIds: ['key_1', 'key_2', 'key_9', 'key_a1', 'key_a2'],
      userIds: ['usr_1', 'usr_2', 'usr_3', 'usr_4'],
      names: ['alice', 'bob', 'carol'],
      roles: [
        ['prj_1', 'usr_1'],
        ['prj_1', 'usr_2'],
      ],
      routes: [
        ['models.example.com', '/v1/b/c'],
        ['MODELS.example.com', '/v2/x/y'],
        ['models.example.com', '/v2/y'],
        ['models.example.com', '/v3'],
      ],
      deploymentIds: ['dep_1', 'dep_2'],
      slots: [
        ['dep_1', 'primary'],
        ['dep_1', 'secondary'],
      ],
      kids: ['kid-1', 'kid-2'],
      eventIds: ['evt_key-key_2_2', 'evt_key-key_9_2', 'evt_key-key_a2_2', 'evt_key-key_1_2'],
    };

    it('reads a snapshot written before GroupsEdited (no groupsChangedAt: the refresh time)', () => {
      const snap = modelOf(history).snapshot();
      const old = {
        ...snap,
        users: snap.users.map((u) => u.slice(0, 12)),
        pendingUsers: snap.pendingUsers.map((p) => p.slice(0, 5)),
      };
      const restored = AccessModel.restore(old, { now: clock });
      expect(restored.user('usr_1')!.groupsChangedAt).toBe(restored.user('usr_1')!.groupsRefreshedAt);
      expect(restored.user('usr_1')!.groupsRefreshedAt).toBe(T0 + HOUR);
    });

    it('round-trips through the stored envelope with identical answers, before and after further events', () => {
      const original = modelOf(history);
      const restored = AccessModel.restore(throughStorage(original.snapshot()), { now: clock });
      expect(answers(restored, probe)).toBe(answers(original, probe));
      expect(restored.snapshot()).toEqual(original.snapshot());
      for (const e of later) {
        original.apply(e);
        restored.apply(e);
      }
      expect(answers(restored, probe)).toBe(answers(original, probe));
      expect(restored.keyByHash(sha('k9'))?.revoked).toBe(true);
      expect(restored.user('usr_3')).toMatchObject({ deactivated: true, name: 'carol' });
      expect(restored.routeDeployment('models.example.com', '/v3')?.deploymentId).toBe('dep_1');
    });

    it('a capture is consistent: encoding it later ignores what was applied since', async () => {
      const model = modelOf(history);
      const expected = model.snapshot();
      const capture = model.captureSnapshot();
      for (const e of later) model.apply(e);
      expect(await capture.encode()).toEqual(expected);
      expect(await model.captureSnapshot().encode()).toEqual(model.snapshot());
    });

    it('is compact: keys as the key table columns, ids and owners as one UTF-8 buffer each', () => {
      const model = modelOf(history);
      const snap = model.snapshot();
      expect(snap.format).toBe('tollgate.access-model/3');
      const k = snap.keys;
      const ids = unpackStrings(k.ids, k.count, 'ids');
      const owners = unpackStrings(k.owners, k.owners.offsets.length - 1, 'owners');
      expect(Buffer.from(k.ids.bytes).toString('utf8')).toBe(ids.join(''));
      const row = ids.indexOf('key_1');
      expect(Buffer.from(k.hashes.subarray(row * 32, row * 32 + 32)).toString('hex')).toBe(sha('k1'));
      expect(k.createdAt[row]).toBe(T0);
      expect(k.expiresAt[row]).toBe(T0 + 24 * HOUR);
      expect(k.flags[row]).toBe(0b10); // user key, scope 1 (management)
      expect(owners[k.ownerOf[row]!]).toBe('usr_1');
      expect(k.revoked.find(([r]) => ids[r] === 'key_2')).toEqual([
        ids.indexOf('key_2'),
        expect.any(Number),
        'user-deactivated',
        'evt_key-key_2_2',
      ]);
    });

    it('still loads a format-2 snapshot (base64 columns in JSON) with identical answers', () => {
      const original = modelOf(history);
      const snap = original.snapshot();
      const k = snap.keys;
      const b64 = (a: Uint8Array | Uint32Array | Float64Array) =>
        Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
      const old = JSON.parse(
        JSON.stringify({
          ...snap,
          format: 'tollgate.access-model/2',
          keys: {
            count: k.count,
            ids: unpackStrings(k.ids, k.count, 'ids'),
            owners: unpackStrings(k.owners, k.owners.offsets.length - 1, 'owners'),
            ownerOf: b64(k.ownerOf),
            flags: b64(k.flags),
            hashes: b64(k.hashes),
            createdAt: b64(k.createdAt),
            expiresAt: b64(k.expiresAt),
            revoked: k.revoked,
          },
        }),
      ) as Record<string, Record<string, unknown>>;
      const restored = AccessModel.restore(old, { now: clock });
      expect(answers(restored, probe)).toBe(answers(original, probe));
      expect(restored.snapshot()).toEqual(original.snapshot());
      expect(() => AccessModel.restore({ ...old, keys: { ...old.keys, hashes: 'c2hvcnQ=' } })).toThrow(/hash/);
    });

    it('still loads a format-1 snapshot (one tuple per key) with identical answers', () => {
      const original = modelOf(history);
      const snap = original.snapshot();
      const scopes = ['inference', 'management'];
      const slots = ['primary', 'secondary'];
      // The layout format 1 wrote: [keyId, kind, hashB64, owner, scopeOrSlot, expiresAt, createdAt] (+ revocation).
      const tuples = unpackStrings(snap.keys.ids, snap.keys.count, 'ids').map((id) => {
        const k = original.keyById(id)!;
        const user = k.kind === 'user-key';
        const base = [
          k.keyId,
          user ? 0 : 1,
          Buffer.from(k.secretHash, 'hex').toString('base64'),
          user ? k.userId : k.deploymentId,
          user ? scopes.indexOf(k.scope!) : slots.indexOf(k.slot!),
          k.expiresAt,
          k.createdAt,
        ];
        return k.revoked ? [...base, k.revokedAt, k.revocationReason, k.revocationEventId] : base;
      });
      const old = JSON.parse(JSON.stringify({ ...snap, format: 'tollgate.access-model/1', keys: tuples })) as {
        keys: unknown[][];
      };
      const restored = AccessModel.restore(old, { now: clock });
      expect(answers(restored, probe)).toBe(answers(original, probe));
      expect(restored.snapshot()).toEqual(original.snapshot());
      const damaged = { ...old, keys: old.keys.map((t, i) => (i === 0 ? [t[0], 0, 'short', ...t.slice(3)] : t)) };
      expect(() => AccessModel.restore(damaged)).toThrow(/hash/);
    });

    it('refuses another format or a damaged snapshot, leaving the model empty', () => {
      const snap = modelOf(history).snapshot();
      expect(() => AccessModel.restore({ ...snap, format: 'tollgate.access-model/0' })).toThrow(/format/);
      const damaged = { ...snap, keys: { ...snap.keys, hashes: snap.keys.hashes.subarray(0, 10) } };
      const m = new AccessModel();
      expect(() => m.loadSnapshot(damaged)).toThrow(/hash/);
      expect(m.counts().keys).toBe(0);
      expect(() => modelOf(history).loadSnapshot(snap)).toThrow(/empty/);
    });
  });
});

/** A public Ed25519 JWK (the model stores it as given; no crypto needed here). */
function signingJwk(): Record<string, unknown> {
  return { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', alg: 'EdDSA', use: 'sig' };
}

describe('decision facts', () => {
  it('maps records to the decision function facts, once per record', async () => {
    const { toUserFacts, toDeploymentFacts } = await import('./facts');
    const m = modelOf([
      ev.userCreated('usr_1', 'alice', { kind: 'external' }),
      ev.groupsRefreshed('usr_1', 2, ['g'], T0),
      ev.deployment('dep_1', 1, { grantedGroups: ['g'], credentialKinds: ['jwt'], environment: 'prod' }),
      ev.deployment('dep_2', 1),
    ]);
    const user = m.user('usr_1')!;
    expect(toUserFacts(user)).toEqual({
      id: 'usr_1',
      name: 'alice',
      kind: 'external',
      deactivated: false,
      groups: ['g'],
      groupsRefreshedAt: T0,
      groupsChangedAt: T0,
      admin: false,
    });
    expect(toUserFacts(user)).toBe(toUserFacts(user));
    expect(toDeploymentFacts(m.deploymentById('dep_1')!)).toEqual({
      id: 'dep_1',
      projectId: 'prj_1',
      authentication: true,
      credentialKinds: ['jwt'],
      grantedGroups: ['g'],
      environment: 'prod',
    });
    expect(toDeploymentFacts(m.deploymentById('dep_2')!)).not.toHaveProperty('environment');
    m.apply(ev.userDeactivated('usr_1', 3));
    expect(toUserFacts(m.user('usr_1')!).deactivated).toBe(true);
  });
});
