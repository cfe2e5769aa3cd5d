import { once } from 'node:events';
import { promisify } from 'node:util';
import { createGzip, gunzip } from 'node:zlib';
import type { PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { READABLE_SNAPSHOT_FORMATS } from './snapshot';
import { isEnvelope, packSnapshotAsync, type SnapshotPayload, unpackSnapshot } from './snapshot-envelope';

export type { SnapshotPayload } from './snapshot-envelope';

/** The access model's own schema: snapshots only (it writes no events). */
export const ACCESS_MODEL_SCHEMA = 'access_model';

const gunzipAsync = promisify(gunzip);

/** COPY's binary file header starts with this 11-byte signature, then 32-bit flags. */
const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Where the header extension's 32-bit length is (0: no extension), and where the one tuple starts. */
const COPY_EXTENSION_AT = COPY_SIGNATURE.length + 4;
const COPY_TUPLE_AT = COPY_EXTENSION_AT + 4;
/** The header, the tuple's field count (16 bits) and field length (32 bits), and the trailer (16 bits). */
const COPY_FRAME_BYTES = COPY_TUPLE_AT + 2 + 4 + 2;

export interface StoredSnapshot {
  id: number;
  replicaId: string;
  takenAt: Date;
  /** The log the offsets belong to, e.g. `pg:keys,identity` or `kafka:tollgate.keys.v1,tollgate.identity.v1`. */
  source: string;
  payload: SnapshotPayload;
  payloadBytes: number;
}

export interface SaveSnapshotInput {
  replicaId: string;
  source: string;
  takenAt: Date;
  watermark: number | null;
  payload: SnapshotPayload;
  eventCount: number;
  keyCount: number;
}

export class CreateAccessModelSnapshots1767225600001 implements MigrationInterface {
  name = 'CreateAccessModelSnapshots1767225600001';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SCHEMA IF NOT EXISTS "${ACCESS_MODEL_SCHEMA}"`);
    // payload: gzip of the JSON { position, model }; offsets repeated as jsonb for operators.
    await q.query(`
      CREATE TABLE "${ACCESS_MODEL_SCHEMA}".snapshots (
        id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        replica_id     text NOT NULL,
        source         text NOT NULL,
        format         text NOT NULL,
        taken_at       timestamptz NOT NULL,
        watermark      timestamptz,
        offsets        jsonb NOT NULL,
        event_count    bigint NOT NULL,
        key_count      integer NOT NULL,
        payload_bytes  integer NOT NULL,
        payload        bytea NOT NULL
      )`);
    await q.query(
      `CREATE INDEX snapshots_source_format_idx ON "${ACCESS_MODEL_SCHEMA}".snapshots (source, format, id DESC)`,
    );
    await q.query(`CREATE INDEX snapshots_replica_idx ON "${ACCESS_MODEL_SCHEMA}".snapshots (replica_id, id DESC)`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS "${ACCESS_MODEL_SCHEMA}".snapshots`);
  }
}

/**
 * Format 3 payloads are raw columns (32-byte hashes, times): PostgreSQL's pglz found little to compress and
 * spent most of a save and a load trying. EXTERNAL keeps them out of line, uncompressed; `substring` of an
 * uncompressed value also reads only the slice it asks for. Rows written before keep their storage.
 */
export class StoreSnapshotPayloadUncompressed1767225600002 implements MigrationInterface {
  name = 'StoreSnapshotPayloadUncompressed1767225600002';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "${ACCESS_MODEL_SCHEMA}".snapshots ALTER COLUMN payload SET STORAGE EXTERNAL`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "${ACCESS_MODEL_SCHEMA}".snapshots ALTER COLUMN payload SET STORAGE EXTENDED`);
  }
}

export const ACCESS_MODEL_MIGRATIONS = [
  CreateAccessModelSnapshots1767225600001,
  StoreSnapshotPayloadUncompressed1767225600002,
];

/** A stored snapshot's row before decoding (`SnapshotStore.fetchLatest`). */
export interface FetchedSnapshot {
  id: number;
  replicaId: string;
  takenAt: Date;
  source: string;
  format: string;
  payload: Buffer;
}

/** Snapshots of the access model in PostgreSQL (`access_model.snapshots`). */
export class SnapshotStore {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * The newest snapshot of this log source in a format this build reads (the current one or format 1, written
   * before the compact key table), from any replica (all fold the same log).
   */
  async latest(source: string): Promise<StoredSnapshot | null> {
    const row = await this.fetchLatest(source);
    if (!row) return null;
    const { payload: bytes, format: _format, ...rest } = row;
    return { ...rest, payload: await decodePayload(bytes), payloadBytes: bytes.length };
  }

  /**
   * The newest readable row's bytes, streamed by `COPY … TO STDOUT (FORMAT binary)` straight into one buffer
   * of the size the row announced. One transaction (REPEATABLE READ): a concurrent save's pruning cannot
   * delete the row between reading its size and its bytes. A stream that is not exactly one tuple of that
   * size is refused (the caller then replays).
   *
   * Why COPY: raw bytes in the stream, no text encoding on the server and no parsing in the driver.
   * node-postgres spends more than linear time on large result messages, and a bytea result is text (hex or
   * base64) both ends must convert: a 75 MiB payload took ~2.0-2.5 s as 1 MiB base64 slices (the previous
   * way) and ~0.8-1.0 s through COPY on this machine (~5 s in one row).
   */
  async fetchLatest(source: string): Promise<FetchedSnapshot | null> {
    const q = this.dataSource.createQueryRunner();
    // The driver's own client: COPY streams need it, and TypeORM's `query` is slower over large results.
    const client = (await q.connect()) as PoolClient;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      const { rows } = await client.query<{
        id: string;
        replica_id: string;
        taken_at: Date;
        source: string;
        format: string;
        n: number;
      }>(
        `SELECT id, replica_id, taken_at, source, format, octet_length(payload) AS n
           FROM "${ACCESS_MODEL_SCHEMA}".snapshots
          WHERE source = $1 AND format = ANY($2) ORDER BY id DESC LIMIT 1`,
        [source, [...READABLE_SNAPSHOT_FORMATS]],
      );
      const row = rows[0];
      if (!row) {
        await client.query('COMMIT');
        return null;
      }
      // COPY takes no parameters; the id is the table's own bigint, checked to be digits before it is inlined.
      if (!/^\d+$/.test(row.id)) throw new Error(`snapshot id ${row.id} is not a number`);
      const payload = await copyOut(
        client,
        `COPY (SELECT payload FROM "${ACCESS_MODEL_SCHEMA}".snapshots WHERE id = ${row.id}) TO STDOUT (FORMAT binary)`,
        row.n,
      );
      await client.query('COMMIT');
      return {
        id: Number(row.id),
        replicaId: row.replica_id,
        takenAt: row.taken_at,
        source: row.source,
        format: row.format,
        payload,
      };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      await q.release();
    }
  }

  /** Stores a snapshot and keeps only the newest `keep` of this replica. Returns its id and size. */
  async save(input: SaveSnapshotInput, keep = 2): Promise<{ id: number; payloadBytes: number }> {
    // One parameter: the driver sends a Buffer as binary, so the server copies it without parsing text.
    const payload = await encodePayload(input.payload);
    const rows: { id: string }[] = await this.dataSource.query(
      `INSERT INTO "${ACCESS_MODEL_SCHEMA}".snapshots
         (replica_id, source, format, taken_at, watermark, offsets, event_count, key_count, payload_bytes, payload)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
      [
        input.replicaId,
        input.source,
        input.payload.model.format,
        input.takenAt,
        input.watermark === null ? null : new Date(input.watermark),
        JSON.stringify(input.payload.position.offsets),
        input.eventCount,
        input.keyCount,
        payload.length,
        payload,
      ],
    );
    await this.dataSource.query(
      `DELETE FROM "${ACCESS_MODEL_SCHEMA}".snapshots
        WHERE replica_id = $1 AND id NOT IN (
          SELECT id FROM "${ACCESS_MODEL_SCHEMA}".snapshots WHERE replica_id = $1 ORDER BY id DESC LIMIT $2)`,
      [input.replicaId, keep],
    );
    return { id: Number(rows[0]!.id), payloadBytes: payload.length };
  }
}

/** A payload as stored now: the format-3 envelope (`snapshot-envelope.ts`), built in steps. */
export function encodePayload(value: SnapshotPayload): Promise<Buffer> {
  return packSnapshotAsync(value);
}

/**
 * A stored payload: a format-3 envelope, or the gzipped JSON that formats 1 and 2 were stored as. Throws a
 * `SnapshotFormatError` on a damaged envelope (the caller replays instead).
 */
export async function decodePayload(buffer: Buffer): Promise<SnapshotPayload> {
  if (isEnvelope(buffer)) return unpackSnapshot(buffer);
  const json = (await gunzipAsync(buffer)).toString('utf8');
  return JSON.parse(json) as SnapshotPayload;
}

/**
 * How formats 1 and 2 were stored (JSON of the payload, gzipped, written in slices, yielding between them);
 * kept to write such rows in tests of the readers.
 */
export async function encodeLegacyPayload(value: unknown): Promise<Buffer> {
  const gzip = createGzip({ level: 6 });
  const chunks: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = once(gzip, 'end');
  const out = new SlicedWriter(async (text) => {
    if (!gzip.write(text)) await once(gzip, 'drain');
  });
  await writeJson(value, out);
  await out.flush();
  gzip.end();
  await ended;
  return Buffer.concat(chunks);
}

const SLICE = 2000;

/** Collects JSON text and hands it on every `SLICE` pieces, yielding to the event loop in between. */
class SlicedWriter {
  private pieces: string[] = [];
  constructor(private readonly sink: (text: string) => Promise<void>) {}
  push(text: string): void {
    this.pieces.push(text);
  }
  async maybeFlush(): Promise<void> {
    if (this.pieces.length < SLICE) return;
    await this.flush();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  async flush(): Promise<void> {
    if (this.pieces.length === 0) return;
    const text = this.pieces.join('');
    this.pieces = [];
    await this.sink(text);
  }
}

async function writeJson(value: unknown, out: SlicedWriter): Promise<void> {
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      const item: unknown = value[i];
      if (item !== null && typeof item === 'object' && !Array.isArray(item) && Object.keys(item).length > SLICE)
        await writeJson(item, out);
      else out.push(JSON.stringify(item) ?? 'null');
      await out.maybeFlush();
    }
    out.push(']');
    return;
  }
  if (value !== null && typeof value === 'object') {
    out.push('{');
    let first = true;
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      out.push(`${first ? '' : ','}${JSON.stringify(k)}:`);
      first = false;
      if (v !== null && typeof v === 'object') await writeJson(v, out);
      else out.push(JSON.stringify(v));
      await out.maybeFlush();
    }
    out.push('}');
    return;
  }
  out.push(JSON.stringify(value) ?? 'null');
}

/**
 * The one bytea value of a binary COPY of one row and one column, of `bytes` bytes: read into a buffer of the
 * frame's exact size, then checked field by field (signature, no header extension, one field of `bytes`
 * bytes, the trailer). Anything else is an error, never a shorter or longer payload.
 */
async function copyOut(client: PoolClient, sql: string, bytes: number): Promise<Buffer> {
  const frame = Buffer.allocUnsafe(bytes + COPY_FRAME_BYTES);
  let at = 0;
  for await (const chunk of client.query(copyTo(sql)) as AsyncIterable<Buffer>) {
    if (at + chunk.length > frame.length) throw new Error('snapshot copy: more bytes than the row holds');
    chunk.copy(frame, at);
    at += chunk.length;
  }
  if (
    at !== frame.length ||
    !frame.subarray(0, COPY_SIGNATURE.length).equals(COPY_SIGNATURE) ||
    frame.readUInt32BE(COPY_EXTENSION_AT) !== 0 ||
    frame.readInt16BE(COPY_TUPLE_AT) !== 1 ||
    frame.readInt32BE(COPY_TUPLE_AT + 2) !== bytes ||
    frame.readInt16BE(frame.length - 2) !== -1
  ) {
    throw new Error('snapshot copy: not one field of the announced size');
  }
  return frame.subarray(COPY_TUPLE_AT + 6, COPY_TUPLE_AT + 6 + bytes);
}
