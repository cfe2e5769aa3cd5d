import type { KeyCreated, KeyEvent, KeyRevoked, KeyRotated, KeyUse } from '@tollgate/contracts';
import type { EventStore, RecordedEvent } from '@tollgate/event-store';
import {
  storedKey,
  type DueRotation,
  type KeyReadModel,
  type KeyUsageStore,
  type StoredKey,
  type UserKeyCount,
} from './key-read-model';

/**
 * The read model over any `EventStore` (unit tests: `InMemoryEventStore`), by folding `readAll`. Same
 * answers as `PostgresKeyReadModel`; both pass the contract suite in `key-read-model.contract.ts`.
 */
export class InMemoryKeyReadModel implements KeyReadModel, KeyUsageStore {
  private readonly usage = new Map<string, string>();

  constructor(private readonly store: EventStore) {}

  async recordUsage(uses: readonly KeyUse[]): Promise<void> {
    for (const { keyId, lastUsedAt } of uses) {
      const current = this.usage.get(keyId);
      if (current === undefined || current < lastUsedAt) this.usage.set(keyId, lastUsedAt);
    }
  }

  private async all(): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    for (;;) {
      const page = await this.store.readAll({ after: out.at(-1)?.position ?? 0, limit: 1000 });
      out.push(...page);
      if (page.length < 1000) return out;
    }
  }

  private async keys(filter: (k: StoredKey) => boolean): Promise<StoredKey[]> {
    const events = await this.all();
    const created = new Map<string, { data: KeyCreated; version: number }>();
    const revoked = new Map<string, { data: KeyRevoked; eventId: string }>();
    const rotated = new Map<string, KeyRotated>();
    const versions = new Map<string, number>();
    for (const e of events) {
      versions.set(e.streamId, Math.max(versions.get(e.streamId) ?? 0, e.streamVersion));
      if (e.type === 'KeyCreated') created.set(e.streamId, { data: e.data as KeyCreated, version: e.streamVersion });
      if (e.type === 'KeyRevoked' && !revoked.has(e.streamId)) {
        revoked.set(e.streamId, { data: e.data as KeyRevoked, eventId: e.id });
      }
      if (e.type === 'KeyRotated' && !rotated.has(e.streamId)) rotated.set(e.streamId, e.data as KeyRotated);
    }
    const keys: StoredKey[] = [];
    for (const [streamId, c] of created) {
      const r = revoked.get(streamId);
      keys.push(
        storedKey(
          c.data,
          r ? { data: r.data, eventId: r.eventId } : null,
          versions.get(streamId) ?? c.version,
          this.usage.get(c.data.keyId) ?? null,
          rotated.get(streamId) ?? null,
        ),
      );
    }
    return keys.filter(filter);
  }

  async byId(keyId: string): Promise<StoredKey | undefined> {
    return (await this.keys((k) => k.keyId === keyId))[0];
  }

  async bySecretHash(secretHash: string): Promise<StoredKey | undefined> {
    return (await this.keys((k) => k.secretHash === secretHash))[0];
  }

  userKeys(userId: string): Promise<StoredKey[]> {
    return this.keys((k) => k.kind === 'user-key' && k.userId === userId);
  }

  async unrevoked(owners: { userIds: readonly string[]; deploymentIds: readonly string[] }): Promise<StoredKey[]> {
    const users = new Set(owners.userIds);
    const deployments = new Set(owners.deploymentIds);
    return this.keys(
      (k) => k.revokedAt === null && (k.kind === 'user-key' ? users.has(k.userId!) : deployments.has(k.deploymentId!)),
    );
  }

  async countsByUser(now: string): Promise<UserKeyCount[]> {
    const counts = new Map<string, number>();
    for (const k of await this.keys((k) => k.kind === 'user-key')) {
      const active = k.revokedAt === null && (k.expiresAt === null || k.expiresAt > now) ? 1 : 0;
      counts.set(k.userId!, (counts.get(k.userId!) ?? 0) + active);
    }
    return [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([userId, active]) => ({ userId, active }));
  }

  async expiring(from: string, until: string, userId?: string): Promise<StoredKey[]> {
    const keys = await this.keys(
      (k) =>
        k.kind === 'user-key' &&
        k.revokedAt === null &&
        k.expiresAt !== null &&
        k.expiresAt > from &&
        k.expiresAt <= until &&
        (userId === undefined || k.userId === userId),
    );
    return keys.sort((a, b) => (a.expiresAt! < b.expiresAt! ? -1 : a.expiresAt! > b.expiresAt! ? 1 : 0));
  }

  async dueRotations(now: string, limit: number): Promise<DueRotation[]> {
    const events = await this.all();
    const revoked = new Set(events.filter((e) => e.type === 'KeyRevoked').map((e) => e.streamId));
    return events
      .filter((e) => e.type === 'KeyRotated' && !revoked.has(e.streamId) && (e.data as KeyRotated).revokesAt <= now)
      .map((e) => ({ keyId: (e.data as KeyRotated).keyId, eventId: e.id, revokesAt: (e.data as KeyRotated).revokesAt }))
      .sort((a, b) => (a.revokesAt < b.revokesAt ? -1 : a.revokesAt > b.revokesAt ? 1 : 0))
      .slice(0, limit);
  }

  async accessKeyEvents(deploymentId: string): Promise<KeyEvent[]> {
    const events = await this.all();
    const streams = new Set(
      events
        .filter(
          (e) =>
            e.type === 'KeyCreated' &&
            (e.data as KeyCreated).kind === 'access-key' &&
            (e.data as KeyCreated).deploymentId === deploymentId,
        )
        .map((e) => e.streamId),
    );
    return events.filter((e) => streams.has(e.streamId)).map((e) => ({ type: e.type, data: e.data }) as KeyEvent);
  }
}
