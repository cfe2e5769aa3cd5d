import {
  generateKeyEncryptionKey,
  isSealed,
  KeySealer,
  parseKeyEncryptionKey,
  SealingError,
  sealedUnder,
} from './sealing';

const PEM =
  '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIGZha2UtcHJpdmF0ZS1rZXktZm9yLXRlc3RzLTAx\n-----END PRIVATE KEY-----\n';
const kek = () => parseKeyEncryptionKey(generateKeyEncryptionKey());

describe('sealing private keys at rest (AES-256-GCM envelope)', () => {
  it('seals into a value that holds no part of the secret, and opens it with the same KEK and row', () => {
    const sealer = new KeySealer(kek());
    const sealed = sealer.seal(PEM, 'keys.signing_keys:k1');
    expect(isSealed(sealed)).toBe(true);
    expect(sealed).not.toContain('PRIVATE KEY');
    expect(sealed).not.toContain('MC4CAQAwBQYDK2Vw');
    expect(sealedUnder(sealed)).toBe(sealer.current.id);
    expect(sealer.open(sealed, 'keys.signing_keys:k1')).toBe(PEM);
    // A fresh data key and IVs each time: the same secret never seals to the same value.
    expect(sealer.seal(PEM, 'keys.signing_keys:k1')).not.toBe(sealed);
  });

  it('does not open under another KEK, on another row, or once altered', () => {
    const a = new KeySealer(kek());
    const sealed = a.seal(PEM, 'keys.signing_keys:k1');
    const stranger = kek();
    // Another KEK, even under the same id (a forged envelope naming it), fails authentication.
    expect(() => new KeySealer(stranger).open(sealed, 'keys.signing_keys:k1')).toThrow(SealingError);
    const forged = sealed.replace(a.current.id, stranger.id);
    expect(() => new KeySealer(stranger).open(forged, 'keys.signing_keys:k1')).toThrow(/does not open/);
    expect(() => a.open(sealed, 'keys.signing_keys:k2')).toThrow(/does not open/);
    const parts = sealed.split('.');
    const last = parts[6]!;
    parts[6] = `${last[0] === 'A' ? 'B' : 'A'}${last.slice(1)}`;
    expect(() => a.open(parts.join('.'), 'keys.signing_keys:k1')).toThrow(SealingError);
    expect(() => a.open(PEM, 'keys.signing_keys:k1')).toThrow(/not a sealed value/);
  });

  it('re-wraps under a new KEK: only the data key changes, and the old KEK no longer opens it', () => {
    const oldKek = kek();
    const newKek = kek();
    const sealed = new KeySealer(oldKek).seal(PEM, 'ctx');
    const rotated = new KeySealer(newKek, [oldKek]).rewrap(sealed, 'ctx');
    expect(sealedUnder(rotated)).toBe(newKek.id);
    expect(rotated.split('.').slice(5)).toEqual(sealed.split('.').slice(5));
    expect(new KeySealer(newKek).open(rotated, 'ctx')).toBe(PEM);
    expect(() => new KeySealer(oldKek).open(rotated, 'ctx')).toThrow(/which this process does not hold/);
    // Already under the current KEK: unchanged.
    expect(new KeySealer(newKek).rewrap(rotated, 'ctx')).toBe(rotated);
  });

  it('reads a KEK as base64 or hex of exactly 32 bytes, and says what is wrong otherwise', () => {
    const hex = parseKeyEncryptionKey('0f'.repeat(32));
    expect(parseKeyEncryptionKey(Buffer.alloc(32, 0x0f).toString('base64')).id).toBe(hex.id);
    expect(hex.id).toMatch(/^[0-9a-f]{16}$/);
    for (const bad of [
      '',
      'short',
      '0f'.repeat(31),
      Buffer.alloc(31).toString('base64'),
      Buffer.alloc(33).toString('base64'),
    ])
      expect(() => parseKeyEncryptionKey(bad)).toThrow(/must be 32 random bytes/);
  });
});
