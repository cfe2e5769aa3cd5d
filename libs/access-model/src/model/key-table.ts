import type { AccessKeySlot, KeyScope } from '@tollgate/contracts';
import type { PackedStrings } from '../snapshot';
import type { KeyRecord, KeyRevocationReasonValue } from '../types';

/**
 * The keys of the access model, stored compactly: one row per key in parallel columns (typed arrays where the
 * value is a number or bytes), instead of one `KeyRecord` object per key.
 *
 * Why: at 1M keys, an object per key with its secret hash as a 64-character hex string and two `Map` entries
 * cost ~370 bytes a key (issue 18). Here a key costs its 32 raw hash bytes, two 8-byte times, one flags byte,
 * its id as UTF-8 bytes in one shared buffer plus a 4-byte offset, one owner reference, and 8-16 bytes in each
 * of the two indexes (by hash, by id): 127 bytes a key measured at 1M keys, against 185 with a string and a
 * `Map` entry by id. No string or `Map` entry per key: a snapshot load copies the id bytes and offsets as they
 * are and builds the two indexes, and the garbage collector has nothing per key to trace. The price: `keyId`
 * decodes a fresh string on each record (about 10% of the in-process decision rate, docs/performance.md).
 *
 * How a lookup by secret hash works (`rowByHash`): the hash is SHA-256, so its first 4 bytes are already a
 * uniformly spread number. `index` is an open-addressing hash table (linear probing) of `row + 1` (0 = empty
 * slot), at most half full; the probe starts at those 4 bytes masked to the table size and compares the
 * 32 stored bytes with the hex of the query, without allocating. Keys are never removed, so there are no
 * deletion markers. `rowById` works the same way over the id bytes, starting at an FNV-1a hash of the id.
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
  /** Row i's id: UTF-8 bytes [idEnd[i - 1] (0 for row 0), idEnd[i]) of `idBytes` (which grows on its own). */
  private idBytes = Buffer.alloc(0);
  private idEnd = new Uint32Array(0);
  /** Row i's owner: the userId of a user key, the deploymentId of an access key (strings shared with them). */
  private readonly owners: string[] = [];
  /** Revoked rows only (few): row → revocation. */
  private readonly revocations = new Map<number, Revocation>();
  /** Open-addressing table of `row + 1` by the hash's first 4 bytes; length a power of two, ≤ half full. */
  private index = new Int32Array(16);
  /** The same by FNV-1a of the id's bytes (same length as `index`). */
  private idIndex = new Int32Array(16);

  get size(): number {
    return this.count;
  }

  get revokedCount(): number {
    return this.revocations.size;
  }

  rowById(keyId: string): number | undefined {
    let ascii = true;
    for (let i = 0; i < keyId.length && ascii; i++) ascii = keyId.charCodeAt(i) <= 127;
    // An ASCII id's bytes are its char codes: no encoding, no allocation. Others are encoded once.
    const bytes = ascii ? undefined : Buffer.from(keyId, 'utf8');
    const length = bytes ? bytes.length : keyId.length;
    const byte = bytes ? (i: number) => bytes[i]! : (i: number) => keyId.charCodeAt(i);
    let h = FNV_OFFSET;
    for (let i = 0; i < length; i++) h = Math.imul(h ^ byte(i), FNV_PRIME);
    const mask = this.idIndex.length - 1;
    for (let slot = (h >>> 0) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.idIndex[slot]!;
      if (entry === 0) return undefined;
      const row = entry - 1;
      const start = this.idStart(row);
      if (this.idEnd[row]! - start !== length) continue;
      let equal = true;
      for (let i = 0; i < length && equal; i++) equal = this.idBytes[start + i] === byte(i);
      if (equal) return row;
    }
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
    const start = this.idStart(row);
    const idLength = Buffer.byteLength(k.keyId, 'utf8');
    if (start + idLength > this.idBytes.length) {
      const bigger = Buffer.alloc(Math.max(start + idLength, this.idBytes.length * 2, 16 * 1024));
      this.idBytes.copy(bigger, 0, 0, start);
      this.idBytes = bigger;
    }
    this.idEnd[row] = start + this.idBytes.write(k.keyId, start, 'utf8');
    this.owners.push(k.owner);
    if ((this.count + 1) * 2 > this.index.length) this.rehash(this.index.length * 2);
    else {
      this.insert(row);
      this.insertId(row);
    }
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
    return this.idBytes.toString('utf8', this.idStart(row), this.idEnd[row]);
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
      keyId: this.keyId(row),
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
      ids: this.capturedIds(),
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
    const { bytes, offsets } = keys.ids;
    this.idBytes = Buffer.alloc(Math.max(bytes.length, 16 * 1024));
    this.idBytes.set(bytes);
    this.idEnd.set(offsets.subarray(1, n + 1));
    for (let row = 0; row < n; row++) this.owners.push(owner(row));
    this.count = n;
    let length = 16;
    while ((n + 1) * 2 > length) length *= 2;
    // Never throws (the model must stay loadable once the snapshot is validated); our encoder never writes an
    // id twice, and if one did, the later row wins by id (`insertId` replaces an equal id).
    this.rehash(length);
    for (const [row, revocation] of keys.revocations) this.revocations.set(row, revocation);
  }

  private idStart(row: number): number {
    return row === 0 ? 0 : this.idEnd[row - 1]!;
  }

  /** The ids as stored: a copy of the used bytes and the offsets (with the leading 0). */
  private capturedIds(): PackedStrings {
    const n = this.count;
    const offsets = new Uint32Array(n + 1);
    offsets.set(this.idEnd.subarray(0, n), 1);
    const end = n === 0 ? 0 : this.idEnd[n - 1]!;
    return { bytes: new Uint8Array(this.idBytes.subarray(0, end)), offsets };
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

  /** Puts a row into the id index; a row with an equal id already there is replaced (the later row wins). */
  private insertId(row: number): void {
    const start = this.idStart(row);
    const end = this.idEnd[row]!;
    const b = this.idBytes;
    let h = FNV_OFFSET;
    for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, FNV_PRIME);
    const mask = this.idIndex.length - 1;
    let slot = (h >>> 0) & mask;
    for (; this.idIndex[slot] !== 0; slot = (slot + 1) & mask) {
      const other = this.idIndex[slot]! - 1;
      const otherStart = this.idStart(other);
      if (
        this.idEnd[other]! - otherStart === end - start &&
        b.compare(b, start, end, otherStart, this.idEnd[other]) === 0
      )
        break;
    }
    this.idIndex[slot] = row + 1;
  }

  private rehash(length: number): void {
    this.index = new Int32Array(length);
    this.idIndex = new Int32Array(length);
    for (let row = 0; row < this.count; row++) {
      this.insert(row);
      this.insertId(row);
    }
  }

  private grow(capacity: number): void {
    const copy = <T extends Uint8Array | Float64Array | Uint32Array>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    this.hashes = copy(this.hashes, new Uint8Array(capacity * 32));
    this.created = copy(this.created, new Float64Array(capacity));
    this.expires = copy(this.expires, new Float64Array(capacity));
    this.flags = copy(this.flags, new Uint8Array(capacity));
    this.idEnd = copy(this.idEnd, new Uint32Array(capacity));
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
  /** Ids as one UTF-8 buffer (`offsets` has count + 1 entries, the first 0). */
  ids: PackedStrings;
  /** Row i's owner. */
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

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

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
