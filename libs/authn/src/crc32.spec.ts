import { crc32 as zlibCrc32 } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { crc32 } from './crc32';

describe('crc32 (IEEE, as zlib)', () => {
  it.each([
    ['', 0x00000000],
    ['a', 0xe8b7be43],
    ['abc', 0x352441c2],
    ['123456789', 0xcbf43926],
    ['The quick brown fox jumps over the lazy dog', 0x414fa339],
    ['message digest', 0x20159d7f],
  ])('crc32(%j) = %s', (input, expected) => {
    expect(crc32(input)).toBe(expected);
  });

  it('returns an unsigned 32-bit integer', () => {
    expect(crc32('\u00ff\u00ff\u00ff\u00ff')).toBeGreaterThanOrEqual(0);
    expect(crc32(new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toBe(0xffffffff);
  });

  it('hashes strings as UTF-8', () => {
    expect(crc32('é')).toBe(crc32(new Uint8Array([0xc3, 0xa9])));
  });

  // Where this Node has zlib.crc32, cross-check random inputs against it.
  const zlibHas = typeof zlibCrc32 === 'function';
  (zlibHas ? it : it.skip)('agrees with zlib.crc32 on random inputs', () => {
    for (let i = 0; i < 200; i++) {
      const buf = randomBytes(i * 7);
      expect(crc32(buf)).toBe(zlibCrc32(buf));
    }
  });
});
