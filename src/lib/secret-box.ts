import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { fail, ok, type Result } from './result';

// Secrets at rest (Slack bot tokens): AES-256-GCM from Node's crypto, NIST SP 800-38D. Each sealing
// draws a fresh random 96-bit IV (the size GCM is defined for; random IVs are safe far beyond the
// number of installations Allot will ever seal under one key), keeps the 128-bit authentication tag,
// and binds the ciphertext to where it is stored (additional authenticated data), so a sealed value
// copied onto another row does not open. The key id travels beside the ciphertext, so keys can be
// rotated: values sealed under an older key still open while that key is in the ring.

/** Bytes of an AES-256 key. */
export const encryptionKeyBytes = 32;
const ivBytes = 12;
const tagBytes = 16;
/** First byte of every sealed value: the layout below. A new layout gets a new number. */
const sealedFormatVersion = 1;

/** A 32-byte key and its id (a fingerprint: the key cannot be recovered from it). */
export interface EncryptionKey {
  id: string;
  key: Buffer;
}

/** The key new values are sealed with, and every key that may open older ones (current included). */
export interface KeyRing {
  current: EncryptionKey;
  byId: ReadonlyMap<string, EncryptionKey>;
}

/** A sealed value as stored: `version ‖ iv (12) ‖ tag (16) ‖ ciphertext`, and the id of its key. */
export interface Sealed {
  keyId: string;
  sealed: Buffer;
}

/**
 * Reads a key as operators write it: 32 bytes in standard base64 (`openssl rand -base64 32`).
 * Undefined for anything else (another length, characters outside base64), never a guess.
 */
export function parseEncryptionKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) return undefined;
  const key = Buffer.from(trimmed, 'base64');
  // Node's decoder skips what it cannot read; a round trip proves every character was key material.
  if (key.length !== encryptionKeyBytes || key.toString('base64') !== trimmed) return undefined;
  return key;
}

/** The id stored beside values sealed with `key`: `k` and 16 hex digits of a SHA-256 over the key. */
export function encryptionKeyId(key: Buffer): string {
  return `k${createHash('sha256').update('allot encryption key id\0').update(key).digest('hex').slice(0, 16)}`;
}

/** The ring of `current` (seals) and `previous` keys (open only), e.g. during a rotation. */
export function createKeyRing(current: Buffer, previous: readonly Buffer[] = []): KeyRing {
  const named = (key: Buffer): EncryptionKey => ({ id: encryptionKeyId(key), key });
  const currentKey = named(current);
  const byId = new Map<string, EncryptionKey>();
  for (const key of [currentKey, ...previous.map(named)]) if (!byId.has(key.id)) byId.set(key.id, key);
  return { current: currentKey, byId };
}

/**
 * Seals `plaintext` under the ring's current key. `context` (e.g. which row it belongs to) is
 * authenticated, not stored: opening needs the same context.
 */
export function seal(ring: KeyRing, plaintext: string, context: string): Sealed {
  const iv = randomBytes(ivBytes);
  const cipher = createCipheriv('aes-256-gcm', ring.current.key, iv, { authTagLength: tagBytes });
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const sealed = Buffer.concat([Buffer.from([sealedFormatVersion]), iv, cipher.getAuthTag(), ciphertext]);
  return { keyId: ring.current.id, sealed };
}

export type OpenFailure =
  /** The value was sealed under a key the ring does not hold. */
  | 'unknown_key'
  /** The bytes, the context or the key do not match: altered, copied from another row, or corrupt. */
  | 'not_authentic';

/** Opens a sealed value with the key named by its id; a failure is a result, never a partial plaintext. */
export function open(ring: KeyRing, value: Sealed, context: string): Result<string, OpenFailure> {
  const key = ring.byId.get(value.keyId);
  if (!key) return fail('unknown_key');
  const { sealed } = value;
  if (sealed.length < 1 + ivBytes + tagBytes || sealed[0] !== sealedFormatVersion) return fail('not_authentic');
  const iv = sealed.subarray(1, 1 + ivBytes);
  const tag = sealed.subarray(1 + ivBytes, 1 + ivBytes + tagBytes);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, iv, { authTagLength: tagBytes });
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    const plaintext = Buffer.concat([decipher.update(sealed.subarray(1 + ivBytes + tagBytes)), decipher.final()]);
    return ok(plaintext.toString('utf8'));
  } catch {
    return fail('not_authentic');
  }
}
