import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { createDataSource, runMigrations } from '@tollgate/database';
import { createTestDatabase, type TestDatabase } from '../../../test/support';
import { AccessModel } from './access-model';
import { ev } from './testing';
import {
  ACCESS_MODEL_MIGRATIONS,
  ACCESS_MODEL_SCHEMA,
  encodeLegacyPayload,
  type SaveSnapshotInput,
  SnapshotStore,
} from './snapshot-store';
import { SNAPSHOT_FORMAT_2 } from './snapshot';

let db: TestDatabase;
let dataSource: DataSource;
beforeAll(async () => {
  db = await createTestDatabase();
  dataSource = createDataSource({
    url: db.url,
    schema: ACCESS_MODEL_SCHEMA,
    migrations: ACCESS_MODEL_MIGRATIONS,
    name: 'snapshot-store-test',
    poolSize: 2,
  });
  await runMigrations(dataSource);
});
afterAll(async () => {
  await dataSource?.destroy();
  await db?.drop();
});

function modelWithKeys(n: number): AccessModel {
  const model = new AccessModel();
  model.apply(ev.userCreated('usr_1', 'alice'));
  for (let i = 0; i < n; i++) model.apply(ev.userKeyCreated(`key_${i}`, 'usr_1', `secret-${i}`));
  return model;
}

const input = (source: string, model: AccessModel): SaveSnapshotInput => ({
  replicaId: 'r1',
  source,
  takenAt: new Date(),
  watermark: null,
  payload: { position: { offsets: { 'keys:0': '7' }, streamVersions: {} }, model: model.snapshot() },
  eventCount: model.counts().appliedEvents,
  keyCount: model.counts().keys,
});

describe('SnapshotStore on PostgreSQL', () => {
  it('stores the payload uncompressed (STORAGE EXTERNAL)', async () => {
    const rows: { attstorage: string }[] = await dataSource.query(
      `SELECT attstorage FROM pg_attribute
        WHERE attrelid = '"${ACCESS_MODEL_SCHEMA}".snapshots'::regclass AND attname = 'payload'`,
    );
    expect(rows[0]!.attstorage).toBe('e');
  });

  it('round-trips a format-3 snapshot read back through COPY, small and large', async () => {
    const store = new SnapshotStore(dataSource);
    for (const [source, keys] of [
      ['src-copy-small', 3],
      ['src-copy', 30_000],
    ] as const) {
      const model = modelWithKeys(keys);
      const saved = await store.save(input(source, model));
      const fetched = await store.fetchLatest(source);
      expect(fetched).toMatchObject({ id: saved.id, format: 'tollgate.access-model/3' });
      expect(fetched!.payload.length).toBe(saved.payloadBytes);
      const latest = (await store.latest(source))!;
      expect(latest.payload.position.offsets).toEqual({ 'keys:0': '7' });
      expect(AccessModel.restore(latest.payload.model).snapshot()).toEqual(model.snapshot());
    }
    expect(await store.latest('src-none')).toBeNull();
  });

  it('still reads a row stored as gzipped JSON (formats 1 and 2)', async () => {
    const store = new SnapshotStore(dataSource);
    const model = modelWithKeys(3);
    const saved = await store.save(input('src-legacy', model));
    const legacy = JSON.parse(
      JSON.stringify({
        position: { offsets: {}, streamVersions: {} },
        model: { ...model.snapshot(), format: SNAPSHOT_FORMAT_2, keys: format2Keys(model) },
      }),
    ) as unknown;
    await dataSource.query(`UPDATE "${ACCESS_MODEL_SCHEMA}".snapshots SET format = $1, payload = $2 WHERE id = $3`, [
      SNAPSHOT_FORMAT_2,
      await encodeLegacyPayload(legacy),
      saved.id,
    ]);
    const latest = (await store.latest('src-legacy'))!;
    expect(latest.payload.model.format).toBe(SNAPSHOT_FORMAT_2);
    expect(AccessModel.restore(latest.payload.model).snapshot()).toEqual(model.snapshot());
  });

  it('refuses a damaged envelope (CRC-32) with a SnapshotFormatError', async () => {
    const store = new SnapshotStore(dataSource);
    const saved = await store.save(input('src-damaged', modelWithKeys(5)));
    await dataSource.query(
      `UPDATE "${ACCESS_MODEL_SCHEMA}".snapshots
          SET payload = overlay(payload PLACING '\\x00ff'::bytea FROM octet_length(payload) - 40) WHERE id = $1`,
      [saved.id],
    );
    await expect(store.latest('src-damaged')).rejects.toThrow(/CRC-32/);
  });
});

function format2Keys(model: AccessModel) {
  const k = model.snapshot().keys;
  const b64 = (a: Uint8Array | Uint32Array | Float64Array) =>
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
  const strings = (p: { bytes: Uint8Array; offsets: Uint32Array }) =>
    Array.from({ length: p.offsets.length - 1 }, (_, i) =>
      Buffer.from(p.bytes.subarray(p.offsets[i], p.offsets[i + 1])).toString('utf8'),
    );
  return {
    count: k.count,
    ids: strings(k.ids),
    owners: strings(k.owners),
    ownerOf: b64(k.ownerOf),
    flags: b64(k.flags),
    hashes: b64(k.hashes),
    createdAt: b64(k.createdAt),
    expiresAt: b64(k.expiresAt),
    revoked: k.revoked,
  };
}
