import { createHash } from 'node:crypto';
import { KeyTable } from './key-table';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('KeyTable', () => {
  const row = (i: number) => ({
    keyId: `key_${i}`,
    kind: i % 2 === 0 ? ('user-key' as const) : ('access-key' as const),
    secretHash: sha(`secret-${i}`),
    owner: i % 2 === 0 ? `usr_${i % 7}` : `dep_${i % 3}`,
    sub: (i % 3 === 0 ? 1 : 0) as 0 | 1,
    expiresAt: i % 5 === 0 ? null : 1_000 + i,
    createdAt: 500 + i,
  });

  it('finds every key by hash and by id across index growth, and nothing else', () => {
    const table = new KeyTable();
    const n = 5000; // the index doubles many times, and linear probing meets collisions
    for (let i = 0; i < n; i++) expect(table.add(row(i))).toBe(i);
    for (let i = 0; i < n; i++) {
      const r = table.rowByHash(sha(`secret-${i}`));
      expect(r).toBe(i);
      expect(table.rowById(`key_${i}`)).toBe(i);
      const record = table.record(r!, ['inference', 'management'], ['primary', 'secondary']);
      expect(record).toMatchObject({
        keyId: `key_${i}`,
        secretHash: sha(`secret-${i}`),
        expiresAt: i % 5 === 0 ? null : 1_000 + i,
        createdAt: 500 + i,
        revoked: false,
      });
    }
    expect(table.rowByHash(sha('unknown'))).toBeUndefined();
    expect(table.rowByHash(sha('secret-1').toUpperCase())).toBeUndefined();
    expect(table.rowByHash(sha('secret-1').slice(0, 63))).toBeUndefined();
    expect(table.rowByHash(`${sha('secret-1').slice(0, 63)}g`)).toBeUndefined();
    expect(table.rowByHash(`${sha('secret-1').slice(0, 63)}\u0131`)).toBeUndefined();
  });

  it('refuses a hash that is not 64 lowercase hex characters and stays as it was', () => {
    const table = new KeyTable();
    table.add(row(1));
    expect(() => table.add({ ...row(2), secretHash: sha('x').toUpperCase() })).toThrow(/hex/);
    expect(() => table.add({ ...row(3), secretHash: 'abc' })).toThrow(/hex/);
    expect(table.size).toBe(1);
    expect(table.rowById('key_2')).toBeUndefined();
  });

  it('a capture loads into another table with the same answers', () => {
    const table = new KeyTable();
    for (let i = 0; i < 3000; i++) table.add(row(i));
    table.revoke(7, { revokedAt: 9, reason: 'leaked', eventId: 'evt_7' });
    table.setExpiresAt(8, 42);
    const copy = new KeyTable();
    const captured = table.capture();
    copy.load(captured, (r) => captured.owners[r]!);
    const scopes = ['inference', 'management'] as const;
    const slots = ['primary', 'secondary'] as const;
    for (let i = 0; i < 3000; i++)
      expect(copy.record(copy.rowByHash(sha(`secret-${i}`))!, scopes, slots)).toEqual(table.record(i, scopes, slots));
    expect(copy.revokedCount).toBe(1);
    for (let i = 0; i < 3000; i += 97) expect(copy.rowById(`key_${i}`)).toBe(i);
  });

  it('finds ids by their UTF-8 bytes: non-ASCII ids, prefixes and lengths are told apart', () => {
    const table = new KeyTable();
    const ids = ['key_1', 'key_10', 'key_é', 'key_e\u0301', 'key_😀', 'k', ''];
    ids.forEach((keyId, i) => table.add({ ...row(i), keyId }));
    ids.forEach((keyId, i) => {
      expect(table.rowById(keyId)).toBe(i);
      expect(table.keyId(i)).toBe(keyId);
    });
    for (const missing of ['key_', 'key_100', 'key_è', 'key_😀x', 'K', 'key_e'])
      expect(table.rowById(missing)).toBeUndefined();
    const copy = new KeyTable();
    const captured = table.capture();
    copy.load(captured, (r) => captured.owners[r]!);
    ids.forEach((keyId, i) => expect(copy.rowById(keyId)).toBe(i));
  });

  it('a loaded capture holding an id twice answers the later row by id (as Map.set after Map.set did)', () => {
    const table = new KeyTable();
    table.add(row(0));
    table.add(row(1));
    const captured = table.capture();
    const twice = Buffer.from('key_0key_0');
    const copy = new KeyTable();
    copy.load(
      { ...captured, ids: { bytes: new Uint8Array(twice), offsets: new Uint32Array([0, 5, 10]) } },
      (r) => captured.owners[r]!,
    );
    expect(copy.rowById('key_0')).toBe(1);
    expect(copy.rowById('key_1')).toBeUndefined();
  });
});
