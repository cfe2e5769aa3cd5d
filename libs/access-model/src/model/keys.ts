import type { AccessKeySlot, DomainEvent, KeyCreated, KeyRevoked, KeyRotated } from '@tollgate/contracts';
import type { RecordedEvent } from '@tollgate/event-store';
import { accessKeySlot, keyScope } from '@tollgate/contracts';
import type { KeyRecord } from '../types';
import { type CapturedKeys, KeyTable, type NewKeyRow, type Revocation } from './key-table';
import { type Evolver, type KeyTombstone, time } from './records';

const SCOPES = keyScope.options;
const SLOTS = accessKeySlot.options;

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
  /** Every key, compactly (see `KeyTable`); the indexes below hold its row numbers. */
  private readonly table = new KeyTable();
  private readonly tombstones = new Map<string, KeyTombstone>();
  /**
   * `KeyRotated` seen before its key's `KeyCreated` (key id → revokesAt). Both are on the key's own stream,
   * so every log source delivers them in order and a snapshot never holds one without the other; this only
   * keeps the fold order-independent, like the tombstones.
   */
  private readonly pendingRotations = new Map<string, number>();
  /** User id → rows of every key the user owns (valid, revoked and expired). */
  private readonly rowsByUser = new Map<string, number[]>();
  /** (deployment, slot) → rows of the unrevoked access keys of that slot. */
  private readonly slots = new Map<string, number[]>();

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
    const row = this.table.rowById(r.keyId);
    if (row === undefined) {
      const pending = this.pendingRotations.get(r.keyId);
      if (pending === undefined || revokesAt < pending) this.pendingRotations.set(r.keyId, revokesAt);
      return;
    }
    const expiresAt = this.table.expiresAt(row);
    if (expiresAt !== null && expiresAt <= revokesAt) return;
    this.table.setExpiresAt(row, revokesAt);
  }

  private created(k: KeyCreated): void {
    if (this.table.rowById(k.keyId) !== undefined) return; // a key is created once; a repeat changes nothing
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
    this.add(
      {
        keyId: k.keyId,
        kind: k.kind,
        secretHash: k.secretHash,
        owner: userKey ? this.interning.userId(k.userId!) : this.interning.deploymentId(k.deploymentId!),
        sub: (userKey ? SCOPES.indexOf(k.scope!) : SLOTS.indexOf(k.slot!)) as 0 | 1,
        expiresAt: revokesAt === undefined || (expiresAt !== null && expiresAt <= revokesAt) ? expiresAt : revokesAt,
        createdAt: time(k.createdAt),
      },
      tombstone ? { revokedAt: tombstone.revokedAt, reason: tombstone.reason, eventId: tombstone.eventId } : undefined,
    );
    if (tombstone) this.tombstones.delete(k.keyId);
  }

  private revoked(r: KeyRevoked, eventId: string): void {
    const row = this.table.rowById(r.keyId);
    if (row === undefined) {
      if (!this.tombstones.has(r.keyId))
        this.tombstones.set(r.keyId, { revokedAt: time(r.revokedAt), reason: r.reason, eventId });
      return;
    }
    if (this.table.isRevoked(row)) return;
    this.table.revoke(row, { revokedAt: time(r.revokedAt), reason: r.reason, eventId });
    if (this.table.isAccessKey(row)) {
      const key = slotKey(this.table.owner(row), SLOTS[this.table.sub(row)]!);
      const list = this.slots.get(key)?.filter((other) => other !== row);
      if (list && list.length > 0) this.slots.set(key, list);
      else this.slots.delete(key);
    }
  }

  /** Indexes a new key (created, or loaded from a snapshot), revoked when `revocation` is given. */
  add(key: NewKeyRow, revocation?: Revocation): void {
    const row = this.table.add(key);
    if (revocation) this.table.revoke(row, revocation);
    else if (key.kind === 'access-key') {
      const slot = slotKey(key.owner, SLOTS[key.sub]!);
      const list = this.slots.get(slot);
      if (list) list.push(row);
      else this.slots.set(slot, [row]);
    }
    if (key.kind === 'user-key') {
      const rows = this.rowsByUser.get(key.owner);
      if (rows) rows.push(row);
      else this.rowsByUser.set(key.owner, [row]);
    }
  }

  addTombstone(keyId: string, tombstone: KeyTombstone): void {
    this.tombstones.set(keyId, tombstone);
  }

  keyByHash(secretHash: string): KeyRecord | undefined {
    const row = this.table.rowByHash(secretHash);
    return row === undefined ? undefined : this.table.record(row, SCOPES, SLOTS, secretHash);
  }

  keyById(keyId: string): KeyRecord | undefined {
    const row = this.table.rowById(keyId);
    return row === undefined ? undefined : this.table.record(row, SCOPES, SLOTS);
  }

  /** Every key of a user (valid, revoked and expired alike), oldest first (then by id). Off the hot path. */
  keysOfUser(userId: string): KeyRecord[] {
    return (this.rowsByUser.get(userId) ?? [])
      .map((row) => this.table.record(row, SCOPES, SLOTS))
      .sort((a, b) => a.createdAt - b.createdAt || (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0));
  }

  /** The current access key of a deployment's slot: the newest unrevoked one (expired ones included). */
  accessKey(deploymentId: string, slot: AccessKeySlot): KeyRecord | undefined {
    const rows = this.slots.get(slotKey(deploymentId, slot));
    if (!rows) return undefined;
    const t = this.table;
    let best: number | undefined;
    for (const row of rows) {
      if (
        best === undefined ||
        t.createdAt(row) > t.createdAt(best) ||
        (t.createdAt(row) === t.createdAt(best) && t.keyId(row) > t.keyId(best))
      )
        best = row;
    }
    return best === undefined ? undefined : t.record(best, SCOPES, SLOTS);
  }

  get size(): number {
    return this.table.size;
  }

  get revokedKeys(): number {
    return this.table.revokedCount;
  }

  isEmpty(): boolean {
    return (
      this.table.size === 0 &&
      this.rowsByUser.size === 0 &&
      this.tombstones.size === 0 &&
      this.pendingRotations.size === 0
    );
  }

  /** Every key as a record (built now: off the hot path, for tests and listings). */
  records(): KeyRecord[] {
    const out = new Array<KeyRecord>(this.table.size);
    for (let row = 0; row < out.length; row++) out[row] = this.table.record(row, SCOPES, SLOTS);
    return out;
  }

  /**
   * Fills this empty area from a snapshot's rows at once (`owner` gives row i's shared owner string), then
   * indexes them by owner and slot.
   */
  load(keys: CapturedKeys, owner: (row: number) => string): void {
    this.table.load(keys, owner);
    for (let row = 0; row < keys.count; row++) {
      const t = this.table;
      if (t.isAccessKey(row)) {
        if (t.isRevoked(row)) continue;
        const slot = slotKey(t.owner(row), SLOTS[t.sub(row)]!);
        const list = this.slots.get(slot);
        if (list) list.push(row);
        else this.slots.set(slot, [row]);
      } else {
        const rows = this.rowsByUser.get(t.owner(row));
        if (rows) rows.push(row);
        else this.rowsByUser.set(t.owner(row), [row]);
      }
    }
  }

  /** A consistent copy of every key's row, cheap enough for the same tick as the runner's position. */
  capture(): CapturedKeys {
    return this.table.capture();
  }

  tombstoneEntries(): [string, KeyTombstone][] {
    return [...this.tombstones];
  }
}
