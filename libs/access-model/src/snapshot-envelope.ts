import { crc32 } from 'node:zlib';
import type { ProjectionPosition } from '@tollgate/event-store';
import { type AccessModelSnapshot, type KeyColumns, SNAPSHOT_FORMAT, SnapshotFormatError } from './snapshot';

/** What one snapshot row holds: the model and the log position it reflects (taken in the same tick). */
export interface SnapshotPayload {
  position: ProjectionPosition;
  model: AccessModelSnapshot;
}

/**
 * The stored form of a format-3 snapshot: a binary envelope, so the key table's columns are written and read
 * as raw bytes (no JSON, no base64, no gzip: compression cost most of a save and a load, and hashes do not
 * compress).
 *
 *   0   "TGSN"                 magic
 *   4   uint32 LE  3           envelope version
 *   8   uint32 LE  crc         CRC-32 (zlib's) of every byte from 16 on
 *   12  uint32 LE  jsonBytes
 *   16  JSON (UTF-8) of { position, model } without the key columns below, zero-padded to 8 bytes
 *       then, each as uint32 LE byte length + its bytes, zero-padded to 8 bytes, in this order:
 *       hashes, createdAt, expiresAt, flags, ownerOf, ids.offsets, ids.bytes, owners.offsets, owners.bytes
 *
 * Numbers are little-endian (the writer and reader refuse other machines). A CRC mismatch, a wrong magic or
 * version, or any length out of bounds is a `SnapshotFormatError`: the replica then replays the log.
 */
export const ENVELOPE_MAGIC = Buffer.from('TGSN', 'latin1');
export const ENVELOPE_VERSION = 3;
const HEADER = 16;

type Column = Uint8Array | Uint32Array | Float64Array;
const COLUMNS = [
  'hashes',
  'createdAt',
  'expiresAt',
  'flags',
  'ownerOf',
  'ids.offsets',
  'ids.bytes',
  'owners.offsets',
  'owners.bytes',
] as const;

const pad8 = (n: number) => (8 - (n % 8)) % 8;
const view = (a: Column): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** True when `buffer` starts like an envelope (older rows are gzip). */
export function isEnvelope(buffer: Uint8Array): boolean {
  return buffer.length >= 4 && Buffer.from(buffer.buffer, buffer.byteOffset, 4).equals(ENVELOPE_MAGIC);
}

export function packSnapshot(payload: SnapshotPayload): Buffer {
  const steps = packSteps(payload);
  for (let step = steps.next(); ; step = steps.next()) if (step.done) return step.value;
}

/**
 * The same bytes as `packSnapshot`, yielding to the event loop after each column (a copy and its CRC: a few
 * ms each at 1M keys), so a replica that snapshots while serving never stalls for the whole envelope.
 */
export async function packSnapshotAsync(payload: SnapshotPayload): Promise<Buffer> {
  const steps = packSteps(payload);
  for (let step = steps.next(); ; step = steps.next()) {
    if (step.done) return step.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

function* packSteps(payload: SnapshotPayload): Generator<void, Buffer> {
  const { model } = payload;
  if (model.format !== SNAPSHOT_FORMAT) throw new Error(`the envelope holds ${SNAPSHOT_FORMAT} only`);
  const k = model.keys;
  const columns: Column[] = [
    k.hashes,
    k.createdAt,
    k.expiresAt,
    k.flags,
    k.ownerOf,
    k.ids.offsets,
    k.ids.bytes,
    k.owners.offsets,
    k.owners.bytes,
  ];
  const json = Buffer.from(
    JSON.stringify({
      position: payload.position,
      model: { ...model, keys: { count: k.count, revoked: k.revoked } },
    }),
    'utf8',
  );
  let size = HEADER + json.length + pad8(json.length);
  for (const c of columns) size += 4 + c.byteLength + pad8(4 + c.byteLength);
  const out = Buffer.alloc(size); // zeroed: the padding is deterministic
  ENVELOPE_MAGIC.copy(out, 0);
  out.writeUInt32LE(ENVELOPE_VERSION, 4);
  out.writeUInt32LE(json.length, 12);
  let at = HEADER;
  at += json.copy(out, at);
  at += pad8(json.length);
  let crc = crc32(out.subarray(HEADER, at));
  for (const c of columns) {
    yield;
    const from = at;
    out.writeUInt32LE(c.byteLength, at);
    at += 4;
    at += view(c).copy(out, at);
    at += pad8(4 + c.byteLength);
    crc = crc32(out.subarray(from, at), crc);
  }
  out.writeUInt32LE(crc >>> 0, 8);
  return out;
}

const fail = (what: string): never => {
  throw new SnapshotFormatError(`invalid access-model snapshot envelope: ${what}`);
};

/**
 * Reads an envelope. The columns come out as fresh, aligned copies (a Float64Array cannot view an odd
 * offset, and a view would keep the whole fetched buffer alive). The model is not validated here:
 * `decodeSnapshot` does that when it is loaded.
 */
export function unpackSnapshot(buffer: Buffer): SnapshotPayload {
  if (buffer.length < HEADER || !isEnvelope(buffer)) fail('magic');
  const version = buffer.readUInt32LE(4);
  if (version !== ENVELOPE_VERSION) fail(`version ${version}`);
  if (crc32(buffer.subarray(HEADER)) >>> 0 !== buffer.readUInt32LE(8)) fail('CRC-32 mismatch');
  const jsonBytes = buffer.readUInt32LE(12);
  if (HEADER + jsonBytes > buffer.length) fail('JSON length');
  let parsed: { position: ProjectionPosition; model: Record<string, unknown> & { keys: Record<string, unknown> } };
  try {
    parsed = JSON.parse(buffer.toString('utf8', HEADER, HEADER + jsonBytes)) as typeof parsed;
  } catch {
    return fail('JSON');
  }
  if (typeof parsed?.model?.keys !== 'object' || parsed.model.keys === null) fail('keys');
  let at = HEADER + jsonBytes + pad8(jsonBytes);
  const raw = new Map<(typeof COLUMNS)[number], ArrayBuffer>();
  for (const name of COLUMNS) {
    if (at + 4 > buffer.length) fail(`${name} length`);
    const length = buffer.readUInt32LE(at);
    at += 4;
    if (at + length > buffer.length) fail(`${name} length`);
    const copy = new ArrayBuffer(length);
    new Uint8Array(copy).set(buffer.subarray(at, at + length));
    raw.set(name, copy);
    at += length + pad8(4 + length);
  }
  if (at !== buffer.length) fail('trailing bytes');
  const u8 = (name: (typeof COLUMNS)[number]) => new Uint8Array(raw.get(name)!);
  const u32 = (name: (typeof COLUMNS)[number]) =>
    raw.get(name)!.byteLength % 4 === 0 ? new Uint32Array(raw.get(name)!) : fail(`${name} length`);
  const f64 = (name: (typeof COLUMNS)[number]) =>
    raw.get(name)!.byteLength % 8 === 0 ? new Float64Array(raw.get(name)!) : fail(`${name} length`);
  const keys: KeyColumns = {
    count: parsed.model.keys.count as number,
    revoked: parsed.model.keys.revoked as KeyColumns['revoked'],
    hashes: u8('hashes'),
    createdAt: f64('createdAt'),
    expiresAt: f64('expiresAt'),
    flags: u8('flags'),
    ownerOf: u32('ownerOf'),
    ids: { offsets: u32('ids.offsets'), bytes: u8('ids.bytes') },
    owners: { offsets: u32('owners.offsets'), bytes: u8('owners.bytes') },
  };
  return { position: parsed.position, model: { ...parsed.model, keys } as unknown as AccessModelSnapshot };
}
