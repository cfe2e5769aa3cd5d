import type { AccessKeySlot, KeyScope } from '@tollgate/contracts';
import type { KeyRecord, KeyRevocationReasonValue } from '../types';

/**
 * The keys of the access model, stored compactly: one row per key in parallel columns (typed arrays where the
 * value is a number or bytes), instead of one `KeyRecord` object per key.
 *
 * Why: at 1M keys, an object per key with its secret hash as a 64-character hex string and two `Map` entries
 * cost ~370 bytes a key (issue 18). Here a key costs its 32 raw hash bytes, two 8-byte times, one flags byte,
 * its id string and two references, plus ~8-16 bytes in the hash index and one `Map` entry by id (~160 in all).
 *
 * How a lookup by secret hash works (`rowByHash`): the hash is SHA-256, so its first 4 bytes are already a
 * uniformly spread number. `index` is an open-addressing hash table (linear probing) of `row + 1` (0 = empty
 * slot), at most half full; the probe starts at those 4 bytes masked to the table size and compares the
 * 32 stored bytes with the hex of the query, without allocating. Keys are never removed, so there are no
 * deletion markers.
 *
 * `KeyRecord`s are built on demand from a row (`record(row)`): a new immutable object per lookup, as cheap as
 * the one allocation the check makes anyway. A record a caller holds never changes; a revocation or rotation
 * updates the row, and the next lookup sees it.
 */
export class KeyTable {
  private capacity = 0;
  private count = 0;
  /** Row i's secret hash: bytes [32 i, 32 i + 32). */
  private hashes = new Uint8Array(0);
  /** Row i's `createdAt` and `expiresAt` (epoch ms; `expiresAt` NaN = never). */
  private created = new Float64Array(0);
  private expires = new Float64Array(0);
  /** Row i's kind and scope/slot: bit 0 = access key, bit 1 = scope/slot index 1. */
  private flags = new Uint8Array(0);
  private readonly ids: string[] = [];
  /** Row i's owner: the userId of a user key, the deploymentId of an access key (strings shared with them). */
  private readonly owners: string[] = [];
  /** Revoked rows only (few): row → revocation. */
  private readonly revocations = new Map<number, Revocation>();
  private readonly byId = new Map<string, number>();
  /** Open-addressing table of `row + 1` by the hash's first 4 bytes; length a power of two, ≤ half full. */
  private index = new Int32Array(16);

  get size(): number {
    return this.count;
  }

  get revokedCount(): number {
    return this.revocations.size;
  }

  rowById(keyId: string): number | undefined {
    return this.byId.get(keyId);
  }

  /** The row of this secret hash (64 lowercase hex characters), or undefined. Allocation-free. */
  rowByHash(secretHash: string): number | undefined {
    if (secretHash.length !== 64) return undefined;
    const head = hexWord(secretHash);
    if (head < 0) return undefined;
    const mask = this.index.length - 1;
    for (let slot = head & mask; ; slot = (slot + 1) & mask) {
      const entry = this.index[slot]!;
      if (entry === 0) return undefined;
      if (this.hashEquals(entry - 1, secretHash)) return entry - 1;
    }
  }

  /** Adds a key (its id not held yet); returns its row. */
  add(k: NewKeyRow): number {
    if (this.count === this.capacity) this.grow(Math.max(1024, this.capacity * 2));
    const row = this.count;
    const at = row * 32;
    for (let i = 0; i < 32; i++) {
      const byte = k.secretHash.length === 64 ? hexByte(k.secretHash, 2 * i) : -1;
      if (byte < 0) throw new Error(`key ${k.keyId}: secret hash is not 64 lowercase hex characters`);
      this.hashes[at + i] = byte;
    }
    this.count++; // only now: a refused hash leaves the table as it was
    this.created[row] = k.createdAt;
    this.expires[row] = k.expiresAt ?? NaN;
    this.flags[row] = (k.kind === 'access-key' ? 1 : 0) | (k.sub << 1);
    this.ids.push(k.keyId);
    this.owners.push(k.owner);
    this.byId.set(k.keyId, row);
    if ((this.count + 1) * 2 > this.index.length) this.rehash(this.index.length * 2);
    else this.insert(row);
    return row;
  }

  setExpiresAt(row: number, expiresAt: number): void {
    this.expires[row] = expiresAt;
  }

  revoke(row: number, revocation: Revocation): void {
    this.revocations.set(row, revocation);
  }

  isRevoked(row: number): boolean {
    return this.revocations.has(row);
  }

  isAccessKey(row: number): boolean {
    return (this.flags[row]! & 1) === 1;
  }

  keyId(row: number): string {
    return this.ids[row]!;
  }

  owner(row: number): string {
    return this.owners[row]!;
  }

  /** 0 or 1: the index of the key's scope (user key) or slot (access key) in the contract's options. */
  sub(row: number): 0 | 1 {
    return ((this.flags[row]! >> 1) & 1) as 0 | 1;
  }

  createdAt(row: number): number {
    return this.created[row]!;
  }

  expiresAt(row: number): number | null {
    const at = this.expires[row]!;
    return Number.isNaN(at) ? null : at;
  }

  revocation(row: number): Revocation | undefined {
    return this.revocations.get(row);
  }

  /** Hex of row's secret hash; `known` is returned instead when the caller already holds that very string. */
  secretHash(row: number, known?: string): string {
    if (known !== undefined) return known;
    return Buffer.from(this.hashes.buffer, this.hashes.byteOffset + row * 32, 32).toString('hex');
  }

  /** A new immutable record of the row (see the class comment). */
  record(row: number, scopes: readonly KeyScope[], slots: readonly AccessKeySlot[], knownHash?: string): KeyRecord {
    const access = this.isAccessKey(row);
    const sub = this.sub(row);
    const owner = this.owners[row]!;
    const revocation = this.revocations.get(row);
    return {
      keyId: this.ids[row]!,
      kind: access ? 'access-key' : 'user-key',
      secretHash: this.secretHash(row, knownHash),
      userId: access ? null : owner,
      scope: access ? null : scopes[sub]!,
      deploymentId: access ? owner : null,
      slot: access ? slots[sub]! : null,
      expiresAt: this.expiresAt(row),
      createdAt: this.created[row]!,
      revoked: revocation !== undefined,
      revokedAt: revocation?.revokedAt ?? null,
      revocationReason: revocation?.reason ?? null,
      revocationEventId: revocation?.eventId ?? null,
    };
  }

  /**
   * A consistent copy of every row (memory copies of the columns: tens of ms at 1M keys), taken in the same
   * tick as the runner's position and encoded later.
   */
  capture(): CapturedKeys {
    const n = this.count;
    return {
      count: n,
      hashes: this.hashes.slice(0, n * 32),
      created: this.created.slice(0, n),
      expires: this.expires.slice(0, n),
      flags: this.flags.slice(0, n),
      ids: this.ids.slice(),
      owners: this.owners.slice(),
      revocations: [...this.revocations],
    };
  }

  /**
   * Fills this empty table with captured rows at once (a snapshot load: no record object per key). The caller
   * validated the columns' lengths and the owners; `owner` maps each stored owner to the shared string.
   */
  load(keys: CapturedKeys, owner: (row: number) => string): void {
    if (this.count !== 0) throw new Error('KeyTable.load needs an empty table');
    const n = keys.count;
    this.grow(Math.max(1024, n));
    this.hashes.set(keys.hashes.subarray(0, n * 32));
    this.created.set(keys.created.subarray(0, n));
    this.expires.set(keys.expires.subarray(0, n));
    this.flags.set(keys.flags.subarray(0, n));
    for (let row = 0; row < n; row++) {
      const id = keys.ids[row]!;
      // Never throws (the model must stay loadable once the snapshot is validated); our encoder never
      // writes an id twice, and if one did, the later row wins by id, as with one Map.set after another.
      this.ids.push(id);
      this.owners.push(owner(row));
      this.byId.set(id, row);
    }
    this.count = n;
    let length = 16;
    while ((n + 1) * 2 > length) length *= 2;
    this.rehash(length);
    for (const [row, revocation] of keys.revocations) this.revocations.set(row, revocation);
  }

  private hashEquals(row: number, hex: string): boolean {
    const at = row * 32;
    for (let i = 0; i < 32; i++) if (this.hashes[at + i] !== hexByte(hex, 2 * i)) return false;
    return true;
  }

  /** Puts a row into the index (its hash is not there yet). */
  private insert(row: number): void {
    const at = row * 32;
    const h = this.hashes;
    const head = ((h[at]! << 24) | (h[at + 1]! << 16) | (h[at + 2]! << 8) | h[at + 3]!) >>> 0;
    const mask = this.index.length - 1;
    let slot = head & mask;
    while (this.index[slot] !== 0) slot = (slot + 1) & mask;
    this.index[slot] = row + 1;
  }

  private rehash(length: number): void {
    this.index = new Int32Array(length);
    for (let row = 0; row < this.count; row++) this.insert(row);
  }

  private grow(capacity: number): void {
    const copy = <T extends Uint8Array | Float64Array>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    this.hashes = copy(this.hashes, new Uint8Array(capacity * 32));
    this.created = copy(this.created, new Float64Array(capacity));
    this.expires = copy(this.expires, new Float64Array(capacity));
    this.flags = copy(this.flags, new Uint8Array(capacity));
    this.capacity = capacity;
  }
}

/** Every row of a table, column by column (see `KeyTable.capture`). */
export interface CapturedKeys {
  count: number;
  hashes: Uint8Array;
  created: Float64Array;
  expires: Float64Array;
  flags: Uint8Array;
  ids: string[];
  owners: string[];
  revocations: [number, Revocation][];
}

export interface Revocation {
  readonly revokedAt: number;
  readonly reason: KeyRevocationReasonValue;
  readonly eventId: string;
}

export interface NewKeyRow {
  keyId: string;
  kind: 'user-key' | 'access-key';
  secretHash: string;
  /** userId of a user key, deploymentId of an access key. */
  owner: string;
  /** Index of the scope (user key) or slot (access key). */
  sub: 0 | 1;
  expiresAt: number | null;
  createdAt: number;
}

/** Value of a lowercase hex digit by char code; -1 for anything else. */
const NIBBLE = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) NIBBLE[48 + c] = c;
for (let c = 0; c < 6; c++) NIBBLE[97 + c] = 10 + c;

/** The byte at hex position `at` (two digits), or -1 if not lowercase hex. */
function hexByte(hex: string, at: number): number {
  const hi = NIBBLE[hex.charCodeAt(at) & 127]!;
  const lo = NIBBLE[hex.charCodeAt(at + 1) & 127]!;
  // charCodeAt ≥ 128 would alias through `& 127`: refuse it explicitly.
  if (hi < 0 || lo < 0 || hex.charCodeAt(at) > 127 || hex.charCodeAt(at + 1) > 127) return -1;
  return (hi << 4) | lo;
}

/** The first 4 bytes of a hex hash as an unsigned 32-bit number, or -1 if not lowercase hex. */
function hexWord(hex: string): number {
  let word = 0;
  for (let i = 0; i < 4; i++) {
    const byte = hexByte(hex, 2 * i);
    if (byte < 0) return -1;
    word = word * 256 + byte;
  }
  return word;
}
