import { generateKey, hashSecret, newId } from '@tollgate/authn';
import {
  ApiError,
  keyStream,
  type KeyCreated,
  type KeyEvent,
  type KeyRotated,
  type KeyScope,
} from '@tollgate/contracts';
import {
  fold,
  handleCommand,
  VersionConflictError,
  type AppendResult,
  type EventStore,
  type RecordedEvent,
} from '@tollgate/event-store';
import type { Caller } from '@tollgate/platform';
import { keyNotFound } from '../domain/errors';
import { keyDecider } from '../domain/key.decider';
import type { KeyCreationLimiter } from '../domain/rate-limit';
import { DAY_MS, iso, type Clock } from '../domain/time';
import { keyStatus, type KeyReadModel, type StoredKey } from '../storage/key-read-model';
import type { Directory } from './directory';
import type { KeyPolicyService } from './key-policy.service';
import { commitRevocations } from './revoke-keys';
import { storeCall } from '@tollgate/platform';
import { apiMetadata, requestFingerprint, type RequestMeta } from './support';

export interface CreateUserKeyInput {
  name: string;
  scope: KeyScope;
  /** undefined: policy default; null: never expires (only without a policy maximum); else epoch ms. */
  expiresAt: number | null | undefined;
}

/** The 201 body of a key creation. `key` is the secret: present in the creation response only, null in a replay. */
export interface CreatedUserKey {
  keyId: string;
  key: string | null;
  name: string;
  scope: KeyScope;
  expiresAt: string | null;
  createdAt: string;
}

/** A key in a listing: never its secret, nor its hash. */
export interface ListedKey {
  keyId: string;
  userId: string;
  name: string;
  scope: KeyScope;
  status: 'active' | 'expired' | 'revoked';
  expiresAt: string | null;
  createdAt: string;
  revokedAt: string | null;
  revocationReason: string | null;
  version: number;
  /** Start of the minute the key was last seen in use by an authz replica (ISO), or null: never. */
  lastUsedAt: string | null;
  /** The key that replaced this one in a rotation, or null: never rotated. */
  successorKeyId: string | null;
  /** When the rotation ends this key (ISO; it lists as `active` until then), or null: never rotated. */
  revokesAt: string | null;
}

/** The 201 body of a rotation: the successor as a creation answers it, and what happens to the old key. */
export interface RotatedUserKey extends CreatedUserKey {
  /** The key this one replaces. */
  rotatedFrom: string;
  /** When the old key stops working (its `KeyRevoked`, reason `rotated`, follows then). */
  previousKeyRevokesAt: string;
  /** `KeyCreated` of the successor and `KeyRotated` of the old key (also in `Tollgate-Event-Id`). */
  eventIds: string[];
}

/** Overlap bounds of a rotation, in seconds: up to 7 days, default 1 h. */
export const ROTATION_MAX_OVERLAP_SECONDS = 604_800;
export const ROTATION_DEFAULT_OVERLAP_SECONDS = 3600;

export interface Revocation {
  keyId: string;
  revokedAt: string;
  eventId: string;
}

export const listed = (key: StoredKey, now: string): ListedKey => ({
  keyId: key.keyId,
  userId: key.userId!,
  name: key.name ?? '',
  scope: key.scope!,
  status: keyStatus(key, now),
  expiresAt: key.expiresAt,
  createdAt: key.createdAt,
  revokedAt: key.revokedAt,
  revocationReason: key.revocationReason,
  version: key.version,
  lastUsedAt: key.lastUsedAt,
  successorKeyId: key.successorKeyId,
  revokesAt: key.revokesAt,
});

const userNotFound = (): ApiError => new ApiError('not-found', 'user not found');

export interface UserKeysDeps {
  store: EventStore;
  reads: KeyReadModel;
  policy: KeyPolicyService;
  directory: Directory;
  limiter: KeyCreationLimiter;
  clock: Clock;
}

/**
 * User API keys: create (secret shown once), list, revoke, counts and expiring keys. Users manage their own
 * keys; admins manage everyone's; another user's key answers 404 like a key that does not exist.
 */
export class UserKeysService {
  constructor(private readonly deps: UserKeysDeps) {}

  /**
   * Creates a key for `userId` (the caller, or anyone for an admin). With an idempotency key, the same
   * request by the same caller within 24 h replays the first response with `key: null`.
   */
  async create(
    caller: Caller,
    userId: string,
    input: CreateUserKeyInput,
    route: string,
    rawBody: unknown,
    meta: RequestMeta,
  ): Promise<{ body: CreatedUserKey; replayed: boolean }> {
    const { store, directory, limiter, clock } = this.deps;
    if (userId !== caller.userId) {
      if (!caller.admin) throw new ApiError('forbidden', 'only Tollgate admins create keys for other users');
      const user = await directory.user(userId, meta.arrival);
      if (!user) throw userNotFound();
      if (user.deactivated) throw new ApiError('conflict', `user ${userId} is deactivated`);
    }
    const idempotency = meta.idempotencyKey;
    const fingerprint = requestFingerprint(route, userId, rawBody);
    if (idempotency !== undefined) {
      const stored = await storeCall(() => store.lookupIdempotencyKey(caller.userId, idempotency, fingerprint));
      if (stored) return { body: replayBody(stored), replayed: true };
    }
    const now = clock();
    const limit = await limiter.take(`user:${userId}`, now);
    if (!limit.allowed) {
      throw new ApiError(
        'rate-limited',
        `too many keys created for this user; retry in ${limit.retryAfterSeconds} s`,
        undefined,
        {
          'Retry-After': String(limit.retryAfterSeconds),
        },
      );
    }
    const { policy } = await this.deps.policy.current();
    const keyId = newId('key');
    const secret = generateKey(input.scope);
    const result = await storeCall(() =>
      handleCommand(
        store,
        keyStream(keyId),
        keyDecider,
        {
          type: 'CreateUserKey',
          keyId,
          secretHash: hashSecret(secret),
          userId,
          name: input.name,
          scope: input.scope,
          requestedExpiresAt: input.expiresAt,
          policy,
          now,
        },
        apiMetadata(caller, meta),
        { idempotencyKey: idempotency, fingerprint, retries: 0 },
      ),
    );
    // A concurrent request with the same idempotency key won: answer as its replay.
    if (result.replayed) return { body: replayBody(result), replayed: true };
    const created = result.events[0]!.data as KeyCreated;
    return { body: { ...createdBody(created), key: secret }, replayed: false };
  }

  /**
   * Rotates a user key: creates its successor (same owner, name and scope; expiry per the key policy, as a
   * creation without `expiresAt`; the secret in this answer only) and, in the same transaction, a
   * `KeyRotated` on the old key's stream that ends it `overlapSeconds` from now (never later than its own
   * expiry). Every reader of the log refuses the old key from then on; the rotation sweeper appends its
   * `KeyRevoked` (reason `rotated`) once the overlap has passed. The owner or an admin (another user's key:
   * 404); a revoked, expired or already rotated key: 409. `Idempotency-Key` as for a creation.
   */
  async rotate(
    caller: Caller,
    keyId: string,
    overlapSeconds: number,
    route: string,
    rawBody: unknown,
    meta: RequestMeta,
  ): Promise<{ body: RotatedUserKey; replayed: boolean }> {
    const { store, limiter, clock } = this.deps;
    const old = await this.visibleKey(caller, keyId);
    const idempotency = meta.idempotencyKey;
    const fingerprint = requestFingerprint(route, keyId, rawBody);
    if (idempotency !== undefined) {
      const stored = await storeCall(() => store.lookupIdempotencyKey(caller.userId, idempotency, fingerprint));
      if (stored) return { body: rotationReplayBody(stored.events), replayed: true };
    }
    const userId = old.userId!;
    // A deactivated user's keys are being revoked: no successor may outlive that (as for a creation, 409).
    if ((await this.deps.directory.user(userId))?.deactivated) {
      throw new ApiError('conflict', `user ${userId} is deactivated`);
    }
    const now0 = clock();
    const limit = await limiter.take(`user:${userId}`, now0);
    if (!limit.allowed) {
      throw new ApiError(
        'rate-limited',
        `too many keys created for this user; retry in ${limit.retryAfterSeconds} s`,
        undefined,
        { 'Retry-After': String(limit.retryAfterSeconds) },
      );
    }
    const { policy } = await this.deps.policy.current();
    const successorKeyId = newId('key');
    const secret = generateKey(old.scope!);
    for (let attempt = 1; ; attempt++) {
      const slice = await storeCall(() => store.readStream(keyStream(keyId)));
      const state = fold(
        keyDecider,
        slice.events.map((e) => ({ type: e.type, data: e.data }) as KeyEvent),
      );
      const now = clock();
      // Both decisions first: a key that cannot be rotated (409) creates no successor.
      const rotated = keyDecider.decide(
        { type: 'RotateKey', successorKeyId, revokesAt: now + overlapSeconds * 1000, now },
        state,
      );
      const created = keyDecider.decide(
        {
          type: 'CreateUserKey',
          keyId: successorKeyId,
          secretHash: hashSecret(secret),
          userId,
          name: old.name ?? '',
          scope: old.scope!,
          requestedExpiresAt: undefined,
          policy,
          now,
        },
        keyDecider.initialState,
      );
      try {
        const result = await store.appendMany(
          [
            { streamId: keyStream(successorKeyId), expectedVersion: 0, events: created },
            { streamId: keyStream(keyId), expectedVersion: slice.version, events: rotated },
          ],
          { metadata: apiMetadata(caller, meta), idempotencyKey: idempotency, fingerprint },
        );
        if (result.replayed) return { body: rotationReplayBody(result.events), replayed: true };
        return { body: { ...rotationBody(result.events), key: secret }, replayed: false };
      } catch (error) {
        // A concurrent revocation or rotation of the old key: decide again on what it wrote (then 409).
        if (error instanceof VersionConflictError && attempt < 4) continue;
        return storeCall(() => Promise.reject(error as Error));
      }
    }
  }

  /** The user's keys (the caller's own, or anyone's for an admin; else 404). */
  async list(caller: Caller, userId: string): Promise<ListedKey[]> {
    if (userId !== caller.userId && !caller.admin) throw userNotFound();
    const now = iso(this.deps.clock());
    return (await this.deps.reads.userKeys(userId)).map((k) => listed(k, now));
  }

  async get(caller: Caller, keyId: string): Promise<ListedKey> {
    const key = await this.visibleKey(caller, keyId);
    return listed(key, iso(this.deps.clock()));
  }

  /** Revokes one user key. Revoking a revoked key answers the first revocation again (no second event). */
  async revoke(caller: Caller, keyId: string, meta: RequestMeta): Promise<Revocation> {
    const key = await this.visibleKey(caller, keyId);
    const reason = key.userId === caller.userId ? 'user' : 'admin';
    return this.revokeKey(key, reason, caller, meta);
  }

  /** Revokes every unrevoked key of a user (admin, or the user), in one transaction. */
  async revokeAll(caller: Caller, userId: string, meta: RequestMeta): Promise<{ revoked: number; eventIds: string[] }> {
    if (userId !== caller.userId && !caller.admin) throw userNotFound();
    const reason = userId === caller.userId ? 'user' : 'admin';
    const result = await commitRevocations(
      this.deps.store,
      async () => ({
        revoke: (await this.deps.reads.userKeys(userId))
          .filter((k) => k.revokedAt === null)
          .map((k) => ({ keyId: k.keyId, version: k.version, reason })),
      }),
      this.deps.clock,
      { metadata: apiMetadata(caller, meta) },
    );
    const eventIds = result.events.map((e) => e.id);
    return { revoked: eventIds.length, eventIds };
  }

  /** Active keys per user (admins only): every user the directory knows, and every key owner. */
  async counts(caller: Caller): Promise<{ userId: string; name: string | null; active: number }[]> {
    if (!caller.admin) throw new ApiError('forbidden', 'only Tollgate admins see key counts');
    const counts = new Map<string, { userId: string; name: string | null; active: number }>();
    for (const user of this.deps.directory.users())
      counts.set(user.userId, { userId: user.userId, name: user.name, active: 0 });
    for (const { userId, active } of await this.deps.reads.countsByUser(iso(this.deps.clock()))) {
      const entry = counts.get(userId);
      if (entry) entry.active = active;
      else counts.set(userId, { userId, name: null, active });
    }
    return [...counts.values()].sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
  }

  /** Active keys expiring within `days` days: the caller's own, or everyone's for an admin. */
  async expiring(caller: Caller, days: number): Promise<ListedKey[]> {
    const now = this.deps.clock();
    const keys = await this.deps.reads.expiring(
      iso(now),
      iso(now + days * DAY_MS),
      caller.admin ? undefined : caller.userId,
    );
    return keys.map((k) => listed(k, iso(now)));
  }

  /** A user key the caller may see, else 404 (another user's key is indistinguishable from no key). */
  private async visibleKey(caller: Caller, keyId: string): Promise<StoredKey> {
    const key = await this.deps.reads.byId(keyId);
    if (!key || key.kind !== 'user-key' || (key.userId !== caller.userId && !caller.admin)) throw keyNotFound();
    return key;
  }

  private async revokeKey(
    key: StoredKey,
    reason: 'user' | 'admin',
    caller: Caller,
    meta: RequestMeta,
  ): Promise<Revocation> {
    const result = await this.revokeCommand(key.keyId, reason, caller, meta);
    const event = result.events[0];
    if (event)
      return { keyId: key.keyId, revokedAt: (event.data as { revokedAt: string }).revokedAt, eventId: event.id };
    const current = key.revocationEventId ? key : await this.deps.reads.byId(key.keyId);
    return { keyId: key.keyId, revokedAt: current!.revokedAt!, eventId: current!.revocationEventId! };
  }

  /** `RevokeKey` on the key's stream; no event when it is already revoked. */
  private revokeCommand(
    keyId: string,
    reason: 'user' | 'admin',
    caller: Caller,
    meta: RequestMeta,
  ): Promise<AppendResult> {
    return storeCall(() =>
      handleCommand(
        this.deps.store,
        keyStream(keyId),
        keyDecider,
        { type: 'RevokeKey', reason, now: this.deps.clock() },
        apiMetadata(caller, meta),
      ),
    );
  }
}

const createdBody = (k: KeyCreated): Omit<CreatedUserKey, 'key'> => ({
  keyId: k.keyId,
  name: k.name ?? '',
  scope: k.scope!,
  expiresAt: k.expiresAt,
  createdAt: k.createdAt,
});

function rotationBody(events: readonly RecordedEvent[]): RotatedUserKey {
  const created = events.find((e) => e.type === 'KeyCreated')?.data as KeyCreated | undefined;
  const rotated = events.find((e) => e.type === 'KeyRotated')?.data as KeyRotated | undefined;
  if (!created || !rotated) {
    throw new ApiError('idempotency-key-reused', 'this Idempotency-Key was used for a different request');
  }
  return {
    ...createdBody(created),
    key: null,
    rotatedFrom: rotated.keyId,
    previousKeyRevokesAt: rotated.revokesAt,
    eventIds: events.map((e) => e.id),
  };
}

/** A replayed rotation: the same body, the secret withheld (`key: null`). */
const rotationReplayBody = (events: readonly RecordedEvent[]): RotatedUserKey => rotationBody(events);

function replayBody(stored: AppendResult): CreatedUserKey {
  const created = stored.events.find((e) => e.type === 'KeyCreated');
  if (!created) throw new ApiError('idempotency-key-reused', 'this Idempotency-Key was used for a different request');
  return { ...createdBody(created.data as KeyCreated), key: null };
}
