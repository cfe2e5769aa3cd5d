import { randomBytes } from 'node:crypto';
import { BASE62_ALPHABET, decodeBase62Uint, encodeBase62Uint, randomBase62 } from './base62';
import { crc32 } from 'node:zlib';
import {
  constantTimeEqualHex,
  findKeysInText,
  generateKey,
  hashSecret,
  isId,
  KEY_LENGTH,
  KEY_SCANNER_REGEX,
  keyChecksum,
  newId,
  parseKey,
  type KeyKind,
} from './keys';

const KINDS: Array<[KeyKind, string]> = [
  ['inference', 'tgi_'],
  ['management', 'tgm_'],
  ['access', 'tga_'],
];

/** A deterministic byte source: 0, 1, 2, ... (wrapping). */
const counting = (start = 0) => {
  let n = start;
  return (size: number) => Uint8Array.from({ length: size }, () => n++ & 0xff);
};

describe('base62', () => {
  it('uses the alphabet 0-9A-Za-z in that order', () => {
    expect(BASE62_ALPHABET).toBe('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz');
  });

  it.each([
    [0, '000000'],
    [61, '00000z'],
    [62, '000010'],
    [0xcbf43926, '3jZRME'],
    [0xffffffff, '4gfFC3'],
  ])('encodes %d as %s', (n, s) => {
    expect(encodeBase62Uint(n, 6)).toBe(s);
  });

  it('rejects bytes >= 248 (no modulo bias) and maps the rest by b % 62', () => {
    const bytes = [248, 255, 0, 61, 62, 247, 250, 123];
    let i = 0;
    const source = (size: number) => Uint8Array.from({ length: size }, () => bytes[i++ % bytes.length]!);
    // accepted: 0 -> '0', 61 -> 'z', 62 -> '0', 247 -> 247 % 62 = 61 -> 'z', 123 -> 61 -> 'z'
    expect(randomBase62(5, source)).toBe('0z0zz');
  });

  it('keeps asking for bytes until enough are accepted', () => {
    let calls = 0;
    const source = (size: number) => {
      calls++;
      return new Uint8Array(size).fill(calls < 3 ? 255 : 1);
    };
    expect(randomBase62(10, source)).toBe('1111111111');
    expect(calls).toBe(3);
  });

  it('is roughly uniform over the alphabet', () => {
    const counts = new Map<string, number>();
    const s = randomBase62(62 * 1000);
    for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    for (const n of counts.values()) {
      expect(n).toBeGreaterThan(800);
      expect(n).toBeLessThan(1200);
    }
  });
});

describe('key format', () => {
  it('has a published, checkable vector', () => {
    const random = 'A'.repeat(32);
    const body = `tgi_${random}`;
    // checksum = base62(crc32(prefix + random)), 6 digits, most significant first
    expect(keyChecksum(body)).toBe(encodeBase62Uint(crc32(body), 6));
    const key = body + keyChecksum(body);
    expect(parseKey(key)).toEqual({
      ok: true,
      kind: 'inference',
      prefix: 'tgi_',
      random,
      checksum: keyChecksum(body),
      key,
    });
  });

  it('builds prefix + 32 random + checksum from the random source', () => {
    const key = generateKey('access', { randomBytes: counting() });
    expect(key.slice(0, 4)).toBe('tga_');
    expect(key.slice(4, 36)).toBe(BASE62_ALPHABET.slice(0, 32));
    expect(key.slice(36)).toBe(encodeBase62Uint(crc32(key.slice(0, 36)), 6));
  });

  it.each(KINDS)('generates %s keys with prefix %s that round-trip', (kind, prefix) => {
    for (let i = 0; i < 200; i++) {
      const key = generateKey(kind);
      expect(key).toHaveLength(KEY_LENGTH);
      expect(key.startsWith(prefix)).toBe(true);
      expect(KEY_SCANNER_REGEX.test(key)).toBe(true);
      const parsed = parseKey(key);
      expect(parsed).toMatchObject({ ok: true, kind, prefix });
    }
  });

  it('generates distinct keys', () => {
    const keys = new Set(Array.from({ length: 1000 }, () => generateKey('inference')));
    expect(keys.size).toBe(1000);
  });

  it('fails the checksum on every single-character substitution (random keys)', () => {
    for (let n = 0; n < 50; n++) {
      const key = generateKey(KINDS[n % 3]![0]);
      for (let pos = 4; pos < KEY_LENGTH; pos++) {
        const orig = key[pos]!;
        const repl = BASE62_ALPHABET[(BASE62_ALPHABET.indexOf(orig) + 1 + (n % 61)) % 62]!;
        const mutated = key.slice(0, pos) + repl + key.slice(pos + 1);
        expect(parseKey(mutated)).toEqual({ ok: false, reason: 'credential-malformed', kind: KINDS[n % 3]![0] });
      }
    }
  });

  it('fails on adjacent transpositions', () => {
    for (let n = 0; n < 50; n++) {
      const key = generateKey('management');
      for (let pos = 4; pos < KEY_LENGTH - 1; pos++) {
        if (key[pos] === key[pos + 1]) continue;
        const swapped = key.slice(0, pos) + key[pos + 1] + key[pos] + key.slice(pos + 2);
        expect(parseKey(swapped).ok).toBe(false);
      }
    }
  });

  it('changing the prefix invalidates the checksum (the prefix is covered)', () => {
    const key = generateKey('inference');
    expect(parseKey(`tgm_${key.slice(4)}`)).toMatchObject({ ok: false, reason: 'credential-malformed' });
  });

  it.each([
    ['too short', (k: string) => k.slice(0, -1)],
    ['too long', (k: string) => `${k}0`],
    ['non-base62 char in random', (k: string) => `${k.slice(0, 10)}-${k.slice(11)}`],
    ['non-base62 char in checksum', (k: string) => `${k.slice(0, 40)}_${k.slice(41)}`],
    ['trailing space', (k: string) => `${k} `],
    ['non-ASCII', (k: string) => `${k.slice(0, 10)}é${k.slice(11)}`],
    ['prefix only', () => 'tgi_'],
  ])('a Tollgate prefix with a bad layout is credential-malformed: %s', (_name, mutate) => {
    expect(parseKey(mutate(generateKey('inference')))).toEqual({
      ok: false,
      reason: 'credential-malformed',
      kind: 'inference',
    });
  });

  it.each([
    ['empty', ''],
    ['upper-case prefix', `TGI_${'a'.repeat(38)}`],
    ['unknown kind letter', `tgx_${'a'.repeat(38)}`],
    ['a JWT', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'],
    ['another vendor', `sk_live_${'a'.repeat(30)}`],
    ['leading space', ` ${generateKey('inference')}`],
  ])('anything else is not a key at all: %s', (_name, s) => {
    expect(parseKey(s)).toEqual({ ok: false, reason: 'not-a-key' });
  });
});

describe('scanner', () => {
  it('is the published regex', () => {
    expect(KEY_SCANNER_REGEX.source).toBe(String.raw`\btg[ima]_[0-9A-Za-z]{38}\b`);
    expect(KEY_SCANNER_REGEX.global).toBe(false);
  });

  it('finds only matches with a valid checksum, with kind and position', () => {
    const a = generateKey('inference');
    const b = generateKey('access');
    const forged = `tgm_${'x'.repeat(38)}`;
    const text = `export KEY=${a}\nfoo ${forged} bar "${b}", embedded x${generateKey('management')}y`;
    expect(findKeysInText(text)).toEqual([
      { key: a, kind: 'inference', index: text.indexOf(a) },
      { key: b, kind: 'access', index: text.indexOf(b) },
    ]);
  });

  it('finds nothing in text without keys', () => {
    expect(findKeysInText('nothing here tgi_short')).toEqual([]);
  });
});

describe('hashing and comparison', () => {
  it('hashSecret is SHA-256 hex', () => {
    expect(hashSecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hashSecret('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('constantTimeEqualHex', () => {
    const h = hashSecret(generateKey('inference'));
    expect(constantTimeEqualHex(h, h)).toBe(true);
    expect(constantTimeEqualHex(h, h.toUpperCase())).toBe(true);
    expect(constantTimeEqualHex(h, `${h.slice(0, -1)}${h.endsWith('0') ? '1' : '0'}`)).toBe(false);
    expect(constantTimeEqualHex(h, h.slice(0, -2))).toBe(false);
    expect(constantTimeEqualHex('zz', 'zz')).toBe(false);
    expect(constantTimeEqualHex('abc', 'abc')).toBe(false);
    expect(constantTimeEqualHex('', '')).toBe(true);
  });
});

describe('ids', () => {
  it.each(['key', 'usr', 'prj', 'dep', 'evt', 'req'] as const)('newId(%s)', (prefix) => {
    const id = newId(prefix);
    expect(id).toMatch(new RegExp(`^${prefix}_[0-9A-Za-z]{16}$`));
    expect(isId(id, prefix)).toBe(true);
    expect(isId(id, prefix === 'key' ? 'usr' : 'key')).toBe(false);
  });

  it('ids are random', () => {
    expect(new Set(Array.from({ length: 1000 }, () => newId('key'))).size).toBe(1000);
    expect(newId('dep', { randomBytes: counting() })).toBe(`dep_${BASE62_ALPHABET.slice(0, 16)}`);
  });

  it('rejects an unknown prefix', () => {
    expect(() => newId('xyz' as never)).toThrow(TypeError);
    expect(isId('xyz_0123456789abcdef')).toBe(false);
  });

  it('random bytes are drawn from crypto by default', () => {
    // Sanity: the default source is node:crypto randomBytes (distinct outputs, right alphabet).
    expect(randomBase62(32)).toMatch(/^[0-9A-Za-z]{32}$/);
    expect(randomBytes(1)).toHaveLength(1);
  });
});

describe('the checksum fast path', () => {
  it('decodeBase62Uint inverts encodeBase62Uint and refuses other characters', () => {
    for (const value of [0, 1, 61, 62, 0xcbf43926, 0xffffffff]) {
      expect(decodeBase62Uint(encodeBase62Uint(value, 6), 0, 6)).toBe(value);
    }
    expect(decodeBase62Uint('00-000', 0, 6)).toBe(-1);
  });
});
