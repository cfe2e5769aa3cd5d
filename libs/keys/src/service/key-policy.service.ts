import { ApiError, KEY_POLICY_STREAM, type KeyEvent } from '@tollgate/contracts';
import { fold, VersionConflictError, type EventStore } from '@tollgate/event-store';
import type { Caller } from '@tollgate/platform';
import { keyPolicyDecider } from '../domain/key-policy.decider';
import { DEFAULT_KEY_POLICY, type KeyPolicy } from '../domain/policy';
import { apiMetadata, type RequestMeta } from './support';

/** A `PUT /v1/key-policy`: without `maxServiceTokenLifetimeSeconds`, the value in force is kept. */
export type KeyPolicyChange = Omit<KeyPolicy, 'maxServiceTokenLifetimeSeconds'> & {
  maxServiceTokenLifetimeSeconds?: number;
};

export interface VersionedKeyPolicy {
  policy: KeyPolicy;
  /** Stream version of `key-policy`; 0 while the defaults are in force. The `ETag`. */
  version: number;
}

export const versionConflict = (current: number): ApiError =>
  new ApiError('version-conflict', `If-Match does not match the current version ${current}`, [
    { field: 'If-Match', message: `current version is ${current}` },
  ]);

/** Reads and changes the key policy (stream `key-policy`). Always read from the store: a change applies to the next request. */
export class KeyPolicyService {
  constructor(private readonly store: EventStore) {}

  async current(): Promise<VersionedKeyPolicy> {
    const slice = await this.store.readStream(KEY_POLICY_STREAM);
    return {
      policy: fold(
        keyPolicyDecider,
        slice.events.map((e) => ({ type: e.type, data: e.data }) as KeyEvent),
      ),
      version: slice.version,
    };
  }

  /**
   * The longest service token any version of the policy has allowed (seconds; 3600 when never raised): how
   * long a retired signing key's tokens may still live.
   */
  async longestServiceTokenLifetimeEver(): Promise<number> {
    const slice = await this.store.readStream(KEY_POLICY_STREAM);
    let longest = DEFAULT_KEY_POLICY.maxServiceTokenLifetimeSeconds;
    for (const e of slice.events) {
      const value = (e.data as { maxServiceTokenLifetimeSeconds?: number }).maxServiceTokenLifetimeSeconds;
      if (e.type === 'KeyPolicyChanged' && typeof value === 'number' && value > longest) longest = value;
    }
    return longest;
  }

  /**
   * Admins only (403). `expectedVersion` (from `If-Match` or the body's `version`) must be the current
   * version (412); without it the last write wins. Setting the policy in force writes nothing.
   */
  async set(
    caller: Caller,
    change: KeyPolicyChange,
    expectedVersion: number | undefined,
    meta: RequestMeta,
  ): Promise<VersionedKeyPolicy> {
    if (!caller.admin) throw new ApiError('forbidden', 'only Tollgate admins change the key policy');
    for (let attempt = 0; ; attempt++) {
      const { policy: state, version } = await this.current();
      if (expectedVersion !== undefined && expectedVersion !== version) throw versionConflict(version);
      // A client that predates the field (or leaves it out) does not reset a raised service-token maximum.
      const policy: KeyPolicy = {
        defaultLifetimeDays: change.defaultLifetimeDays,
        maxLifetimeDays: change.maxLifetimeDays,
        maxServiceTokenLifetimeSeconds: change.maxServiceTokenLifetimeSeconds ?? state.maxServiceTokenLifetimeSeconds,
      };
      const events = keyPolicyDecider.decide({ type: 'SetKeyPolicy', policy }, state);
      if (events.length === 0) return { policy: state, version };
      try {
        const result = await this.store.append(KEY_POLICY_STREAM, version, events, {
          metadata: apiMetadata(caller, meta),
        });
        return { policy: events.reduce(keyPolicyDecider.evolve, state), version: result.version };
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
        if (expectedVersion !== undefined) throw versionConflict((await this.current()).version);
        if (attempt >= 3) throw new ApiError('conflict', 'the key policy is being changed concurrently; retry');
      }
    }
  }
}
