import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Private signing keys at rest: an AES-256-GCM envelope. Each key gets its own random data key (DEK); the
 * private key is encrypted under the DEK, and the DEK is wrapped (encrypted) under the key-encryption key
 * (KEK, from `TOLLGATE_KEY_ENCRYPTION_KEY`). Rotating the KEK re-wraps the 32-byte DEKs only; the ciphertext
 * of the private key never changes. Both layers bind the row they belong to (`context`, e.g.
 * `keys.signing_keys:<kid>`) as additional authenticated data, so a sealed value copied onto another row
 * does not open. The KEK itself is never stored next to the data: a database dump alone holds no private key.
 *
 * Stored form (one text value): `tgseal.v1.<kekId>.<iv>.<wrapped DEK + tag>.<iv>.<ciphertext + tag>`, every
 * part base64url. `kekId` (16 hex characters of a SHA-256 of the KEK) says which KEK wrapped it; it reveals
 * nothing about the key.
 */

const PREFIX = 'tgseal.v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A key-encryption key: 32 bytes, and its public id. */
export interface KeyEncryptionKey {
  readonly id: string;
  readonly key: Buffer;
}

export class SealingError extends Error {
  override readonly name = 'SealingError';
}

/**
 * A KEK from its text form: 32 bytes as base64 (44 characters, `openssl rand -base64 32`) or hex (64). Throws
 * a `SealingError` saying what is wrong (never echoing the value).
 */
export function parseKeyEncryptionKey(text: string): KeyEncryptionKey {
  const trimmed = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) key = Buffer.from(trimmed, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) key = Buffer.from(trimmed, 'base64');
  if (key === undefined || key.length !== KEY_BYTES) {
    throw new SealingError('must be 32 random bytes, base64 (openssl rand -base64 32) or 64 hex characters');
  }
  return Object.freeze({ id: keyEncryptionKeyId(key), key });
}

/** A new random KEK in its base64 text form. */
export function generateKeyEncryptionKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

function keyEncryptionKeyId(key: Buffer): string {
  return createHash('sha256').update('tollgate-kek-id\0').update(key).digest('hex').slice(0, 16);
}

function encrypt(key: Buffer, plaintext: Buffer, aad: string): { iv: Buffer; sealed: Buffer } {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, sealed: Buffer.concat([body, cipher.getAuthTag()]) };
}

function decrypt(key: Buffer, iv: Buffer, sealed: Buffer, aad: string): Buffer {
  if (iv.length !== IV_BYTES || sealed.length < TAG_BYTES) throw new SealingError('malformed sealed value');
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new SealingError('the sealed value does not open with this key (wrong key, or altered or moved value)');
  }
}

const b64 = (b: Buffer): string => b.toString('base64url');

interface Envelope {
  kekId: string;
  dekIv: Buffer;
  wrappedDek: Buffer;
  iv: Buffer;
  ciphertext: Buffer;
}

function parseEnvelope(value: string): Envelope {
  const parts = value.split('.');
  if (parts.length !== 7 || `${parts[0]}.${parts[1]}` !== PREFIX) throw new SealingError('not a sealed value');
  const [, , kekId, dekIv, wrappedDek, iv, ciphertext] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return {
    kekId,
    dekIv: Buffer.from(dekIv, 'base64url'),
    wrappedDek: Buffer.from(wrappedDek, 'base64url'),
    iv: Buffer.from(iv, 'base64url'),
    ciphertext: Buffer.from(ciphertext, 'base64url'),
  };
}

const formatEnvelope = (e: Envelope): string =>
  [PREFIX, e.kekId, b64(e.dekIv), b64(e.wrappedDek), b64(e.iv), b64(e.ciphertext)].join('.');

/** Whether a stored value is a sealed envelope (not legacy plaintext). */
export function isSealed(value: string): boolean {
  return value.startsWith(`${PREFIX}.`);
}

/** The id of the KEK a sealed value is wrapped under. */
export function sealedUnder(value: string): string {
  return parseEnvelope(value).kekId;
}

/**
 * Seals and opens secrets with one current KEK (it seals), opening values wrapped under any KEK it holds
 * (the current one, and during a rotation the previous one).
 */
export class KeySealer {
  private readonly byId: ReadonlyMap<string, KeyEncryptionKey>;

  constructor(
    readonly current: KeyEncryptionKey,
    others: readonly KeyEncryptionKey[] = [],
  ) {
    this.byId = new Map([...others, current].map((k) => [k.id, k]));
  }

  seal(secret: string, context: string): string {
    const dek = randomBytes(KEY_BYTES);
    try {
      const data = encrypt(dek, Buffer.from(secret, 'utf8'), context);
      const wrapped = encrypt(this.current.key, dek, `${context}\0dek`);
      return formatEnvelope({
        kekId: this.current.id,
        dekIv: wrapped.iv,
        wrappedDek: wrapped.sealed,
        iv: data.iv,
        ciphertext: data.sealed,
      });
    } finally {
      dek.fill(0);
    }
  }

  open(value: string, context: string): string {
    const envelope = parseEnvelope(value);
    const dek = this.unwrap(envelope, context);
    try {
      return decrypt(dek, envelope.iv, envelope.ciphertext, context).toString('utf8');
    } finally {
      dek.fill(0);
    }
  }

  /** The same secret wrapped under the current KEK (only the data key is re-encrypted). */
  rewrap(value: string, context: string): string {
    const envelope = parseEnvelope(value);
    if (envelope.kekId === this.current.id) return value;
    const dek = this.unwrap(envelope, context);
    try {
      const wrapped = encrypt(this.current.key, dek, `${context}\0dek`);
      return formatEnvelope({ ...envelope, kekId: this.current.id, dekIv: wrapped.iv, wrappedDek: wrapped.sealed });
    } finally {
      dek.fill(0);
    }
  }

  private unwrap(envelope: Envelope, context: string): Buffer {
    const kek = this.byId.get(envelope.kekId);
    if (kek === undefined) {
      throw new SealingError(
        `the value is wrapped under key-encryption key ${envelope.kekId}, which this process does not hold`,
      );
    }
    const dek = decrypt(kek.key, envelope.dekIv, envelope.wrappedDek, `${context}\0dek`);
    if (dek.length !== KEY_BYTES) throw new SealingError('malformed data key');
    return dek;
  }
}
