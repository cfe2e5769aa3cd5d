import { encodeBase62Uint } from './base62';
import { keyChecksum, parseKey } from './keys';

// The key checksum is CRC-32 (IEEE, as zlib computes it; CONTRACT.md section 1), from node:zlib. These are
// the standard CRC-32 check vectors, so a different polynomial, init or final XOR fails here.
describe('the key checksum: CRC-32 (IEEE, as zlib) in base62', () => {
  it.each([
    ['', 0x00000000],
    ['a', 0xe8b7be43],
    ['abc', 0x352441c2],
    ['123456789', 0xcbf43926],
    ['The quick brown fox jumps over the lazy dog', 0x414fa339],
    ['message digest', 0x20159d7f],
  ])('keyChecksum(%j) is base62 of %s', (input, expected) => {
    expect(keyChecksum(input)).toBe(encodeBase62Uint(expected, 6));
  });

  it('is checked by parseKey with the same function', () => {
    const body = `tgm_${'z'.repeat(32)}`;
    expect(parseKey(body + keyChecksum(body)).ok).toBe(true);
    expect(parseKey(body + keyChecksum(`tgi_${'z'.repeat(32)}`)).ok).toBe(false);
  });
});
