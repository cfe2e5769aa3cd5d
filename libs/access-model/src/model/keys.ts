import type { AccessKeySlot, DomainEvent, KeyCreated, KeyRevoked, KeyRotated } from '@tollgate/contracts';
import type { RecordedEvent } from '@tollgate/event-store';
import type { KeyRecord } from '../types';
import { type Evolver, type KeyTombstone, keyRecord, time } from './records';

const slotKey = (deploymentId: string, slot: AccessKeySlot): string => `${deploymentId}\u0000${slot}`;

/** Owner and deployment ids as the other areas hold them, so a key shares their strings (one copy each). */
export interface IdInterning {
  userId(userId: string): string;
  deploymentId(deploymentId: string): string;
}

/**
 * Keys: user API keys and model access keys by secret hash (the hot path), by id, by owner and by
 * deployment slot, and revocations that arrive before their key (tombstones).
 */
export class KeysArea implements Evolver {
  private readonly byHash = new Map<string, KeyRecord>();
  private readonly byId = new Map<string, KeyRecord>();
  private readonly tombstones = new Map<string, KeyTombstone>();
  /**
   * `KeyRotated` seen before its key's `KeyCreated` (key id → revokesAt). Both are on the key's own stream,
   * so every log source delivers them in order and a snapshot never holds one without the other; this only
   * keeps the fold order-independent, like the tombstones.
   */
  private readonly pendingRotations = new Map<string, number>();
  /** User id → ids of every key the user owns (valid, revoked and expired). */
  private readonly idsByUser = new Map<string, string[]>();
  /** (deployment, slot) → unrevoked access keys of that slot. */
  private readonly slots = new Map<string, KeyRecord[]>();
  private revokedCount = 0;

  constructor(private readonly interning: IdInterning) {}

  evolve(e: DomainEvent, event: RecordedEvent): void {
    if (e.type === 'KeyCreated') this.created(e.data);
    else if (e.type === 'KeyRevoked') this.revoked(e.data, event.id);
    else if (e.type === 'KeyRotated') this.rotated(e.data);
  }

  /**
   * A rotated key stops working at `revokesAt`: the record's expiry becomes min(expiresAt, revokesAt), so every
   * replica refuses it on time (`key-expired`) from the event alone, before and whether or not the
   * `KeyRevoked` the keys service appends afterwards has arrived. The expiry is part of the record, so a
   * snapshot keeps it.
   */
  private rotated(r: KeyRotated): void {
    const revokesAt = time(r.revokesAt);
    const existing = this.byId.get(r.keyId);
    if (!existing) {
      const pending = this.pendingRotations.get(r.keyId);
      if (pending === undefined || revokesAt < pending) this.pendingRotations.set(r.keyId, revokesAt);
      return;
    }
    if (existing.expiresAt !== null && existing.expiresAt <= revokesAt) return;
    const rotated = keyRecord({ ...existing, expiresAt: revokesAt });
    this.byId.set(rotated.keyId, rotated);
    this.byHash.set(rotated.secretHash, rotated);
    if (rotated.kind === 'access-key' && !rotated.revoked) {
      const key = slotKey(rotated.deploymentId!, rotated.slot!);
      const list = this.slots.get(key);
      if (list)
        this.slots.set(
          key,
          list.map((k) => (k.keyId === rotated.keyId ? rotated : k)),
        );
    }
  }

  private created(k: KeyCreated): void {
    if (this.byId.has(k.keyId)) return; // a key is created once; a repeat changes nothing
    const userKey = k.kind === 'user-key';
    if (userKey && (k.userId === undefined || k.scope === undefined)) {
      throw new Error(`KeyCreated ${k.keyId}: a user key needs userId and scope`);
    }
    if (!userKey && (k.deploymentId === undefined || k.slot === undefined)) {
      throw new Error(`KeyCreated ${k.keyId}: an access key needs deploymentId and slot`);
    }
    const tombstone = this.tombstones.get(k.keyId);
    const expiresAt = k.expiresAt === null ? null : time(k.expiresAt);
    const revokesAt = this.pendingRotations.get(k.keyId);
    this.pendingRotations.delete(k.keyId);
    const record = keyRecord({
      keyId: k.keyId,
      kind: k.kind,
      secretHash: k.secretHash,
      userId: userKey ? this.interning.userId(k.userId!) : null,
      scope: userKey ? k.scope! : null,
      deploymentId: userKey ? null : this.interning.deploymentId(k.deploymentId!),
      slot: userKey ? null : k.slot!,
      expiresAt: revokesAt === undefined || (expiresAt !== null && expiresAt <= revokesAt) ? expiresAt : revokesAt,
      createdAt: time(k.createdAt),
      revokedAt: tombstone?.revokedAt ?? null,
      revocationReason: tombstone?.reason ?? null,
      revocationEventId: tombstone?.eventId ?? null,
    });
    if (tombstone) this.tombstones.delete(k.keyId);
    this.add(record);
  }

  private revoked(r: KeyRevoked, eventId: string): void {
    const existing = this.byId.get(r.keyId);
    if (!existing) {
      if (!this.tombstones.has(r.keyId))
        this.tombstones.set(r.keyId, { revokedAt: time(r.revokedAt), reason: r.reason, eventId });
      return;
    }
    if (existing.revoked) return;
    const revoked = keyRecord({
      ...existing,
      revokedAt: time(r.revokedAt),
      revocationReason: r.reason,
      revocationEventId: eventId,
    });
    this.byId.set(revoked.keyId, revoked);
    this.byHash.set(revoked.secretHash, revoked);
    this.revokedCount++;
    if (revoked.kind === 'access-key') {
      const key = slotKey(revoked.deploymentId!, revoked.slot!);
      const list = this.slots.get(key)?.filter((k) => k.keyId !== revoked.keyId);
      if (list && list.length > 0) this.slots.set(key, list);
      else this.slots.delete(key);
    }
  }

  /** Indexes a new record (created, or loaded from a snapshot). */
  add(record: KeyRecord): void {
    this.byId.set(record.keyId, record);
    this.byHash.set(record.secretHash, record);
    if (record.revoked) this.revokedCount++;
    else if (record.kind === 'access-key') {
      const key = slotKey(record.deploymentId!, record.slot!);
      const list = this.slots.get(key);
      if (list) list.push(record);
      else this.slots.set(key, [record]);
    }
    if (record.userId !== null) {
      const ids = this.idsByUser.get(record.userId);
      if (ids) ids.push(record.keyId);
      else this.idsByUser.set(record.userId, [record.keyId]);
    }
  }

  addTombstone(keyId: string, tombstone: KeyTombstone): void {
    this.tombstones.set(keyId, tombstone);
  }

  keyByHash(secretHash: string): KeyRecord | undefined {
    return this.byHash.get(secretHash);
  }

  keyById(keyId: string): KeyRecord | undefined {
    return this.byId.get(keyId);
  }

  /** Every key of a user (valid, revoked and expired alike), oldest first (then by id). Off the hot path. */
  keysOfUser(userId: string): KeyRecord[] {
    return (this.idsByUser.get(userId) ?? [])
      .map((id) => this.byId.get(id)!)
      .sort((a, b) => a.createdAt - b.createdAt || (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0));
  }

  /** The current access key of a deployment's slot: the newest unrevoked one (expired ones included). */
  accessKey(deploymentId: string, slot: AccessKeySlot): KeyRecord | undefined {
    const list = this.slots.get(slotKey(deploymentId, slot));
    if (!list) return undefined;
    let best: KeyRecord | undefined;
    for (const k of list) {
      if (!best || k.createdAt > best.createdAt || (k.createdAt === best.createdAt && k.keyId > best.keyId)) best = k;
    }
    return best;
  }

  get size(): number {
    return this.byId.size;
  }

  get revokedKeys(): number {
    return this.revokedCount;
  }

  isEmpty(): boolean {
    return (
      this.byId.size === 0 &&
      this.idsByUser.size === 0 &&
      this.tombstones.size === 0 &&
      this.pendingRotations.size === 0
    );
  }

  records(): KeyRecord[] {
    return [...this.byId.values()];
  }

  tombstoneEntries(): [string, KeyTombstone][] {
    return [...this.tombstones];
  }
}
