import { describe, expect, it } from '@jest/globals';
import { gzipSync } from 'node:zlib';
import { AccessModel } from './access-model';
import { ev } from './testing';
import { isEnvelope, packSnapshot, packSnapshotAsync, type SnapshotPayload, unpackSnapshot } from './snapshot-envelope';

function payload(): SnapshotPayload {
  const model = new AccessModel();
  model.apply(ev.userCreated('usr_1', 'alice'));
  model.apply(ev.userCreated('usr_é', 'émile')); // a non-ASCII owner: the UTF-8 path of the packed strings
  for (let i = 0; i < 5; i++) model.apply(ev.userKeyCreated(`key_${i}`, i % 2 ? 'usr_é' : 'usr_1', `s${i}`));
  model.apply(ev.keyRevoked('key_3'));
  return { position: { offsets: { 'keys:0': '12' }, streamVersions: { a: 1 } }, model: model.snapshot() };
}

describe('snapshot envelope (format 3)', () => {
  it('round-trips: columns, ids, owners, position, and the model it restores', () => {
    const p = payload();
    const packed = packSnapshot(p);
    expect(isEnvelope(packed)).toBe(true);
    expect(packed.subarray(0, 4).toString('latin1')).toBe('TGSN');
    const back = unpackSnapshot(packed);
    expect(back).toEqual(p);
    const restored = AccessModel.restore(back.model);
    expect(restored.keyById('key_3')?.revoked).toBe(true);
    expect(restored.keyById('key_1')?.userId).toBe('usr_é');
    expect(restored.snapshot()).toEqual(p.model);
  });

  it('writes the same bytes for the same state (zeroed padding)', () => {
    const packed = packSnapshot(payload());
    expect(packSnapshot(unpackSnapshot(packed)).equals(packed)).toBe(true);
  });

  it('builds the same bytes in steps (yielding between columns) as at once', async () => {
    const p = payload();
    expect((await packSnapshotAsync(p)).equals(packSnapshot(p))).toBe(true);
  });

  it('refuses any flipped bit after the header (CRC-32), a wrong version and a truncated envelope', () => {
    const packed = packSnapshot(payload());
    for (const at of [16, packed.length >> 1, packed.length - 1]) {
      const damaged = Buffer.from(packed);
      damaged[at]! ^= 0x10;
      expect(() => unpackSnapshot(damaged)).toThrow(/CRC-32/);
    }
    const version = Buffer.from(packed);
    version.writeUInt32LE(4, 4);
    expect(() => unpackSnapshot(version)).toThrow(/version 4/);
    expect(() => unpackSnapshot(packed.subarray(0, packed.length - 8))).toThrow(/CRC-32|length/);
    expect(() => unpackSnapshot(packed.subarray(0, 10))).toThrow(/magic/);
  });

  it('tells an envelope from the gzipped JSON of formats 1 and 2', () => {
    expect(isEnvelope(gzipSync(Buffer.from('{}')))).toBe(false);
  });
});
