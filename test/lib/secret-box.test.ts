import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKeyRing, encryptionKeyId, open, parseEncryptionKey, seal } from '../../src/lib/secret-box';

const key = randomBytes(32);
const ring = createKeyRing(key);
const token = 'xoxb-1234-5678-abcdefghijklmnop';

describe('secrets at rest (AES-256-GCM)', () => {
  it('a sealed value opens with its key and context, and holds neither the plaintext nor the key', () => {
    const sealed = seal(ring, token, 'slack_installations:-:T1');
    expect(sealed.keyId).toBe(encryptionKeyId(key));
    expect(sealed.sealed.includes(Buffer.from(token))).toBe(false);
    expect(sealed.sealed.includes(key)).toBe(false);
    // version (1) + IV (12) + tag (16) + ciphertext as long as the plaintext
    expect(sealed.sealed.length).toBe(1 + 12 + 16 + Buffer.byteLength(token));
    expect(open(ring, sealed, 'slack_installations:-:T1')).toEqual({ ok: true, value: token });
  });

  it('each sealing draws a new IV: the same plaintext never gives the same bytes', () => {
    const values = Array.from({ length: 50 }, () => seal(ring, token, 'c').sealed);
    expect(new Set(values.map((value) => value.subarray(1, 13).toString('hex'))).size).toBe(50);
    expect(new Set(values.map((value) => value.toString('hex'))).size).toBe(50);
  });

  it('another context, an altered byte, a truncated value or another key does not open it', () => {
    const sealed = seal(ring, token, 'slack_installations:-:T1');
    expect(open(ring, sealed, 'slack_installations:-:T2')).toEqual({ ok: false, failure: 'not_authentic' });
    for (const at of [0, 5, 20, sealed.sealed.length - 1]) {
      const altered = Buffer.from(sealed.sealed);
      altered[at]! ^= 0x01;
      expect(open(ring, { ...sealed, sealed: altered }, 'slack_installations:-:T1').ok).toBe(false);
    }
    expect(open(ring, { ...sealed, sealed: sealed.sealed.subarray(0, 20) }, 'x')).toEqual({
      ok: false,
      failure: 'not_authentic',
    });
    expect(open(createKeyRing(randomBytes(32)), sealed, 'slack_installations:-:T1')).toEqual({
      ok: false,
      failure: 'unknown_key',
    });
  });

  it('a ring with the old key as previous opens old values and seals new ones under the new key', () => {
    const old = seal(ring, token, 'c');
    const next = randomBytes(32);
    const rotated = createKeyRing(next, [key]);
    expect(open(rotated, old, 'c')).toEqual({ ok: true, value: token });
    expect(seal(rotated, token, 'c').keyId).toBe(encryptionKeyId(next));
    expect(encryptionKeyId(next)).not.toBe(encryptionKeyId(key));
    expect(encryptionKeyId(key)).toMatch(/^k[0-9a-f]{16}$/);
  });

  it('keys are read from base64 of exactly 32 bytes, nothing else', () => {
    expect(parseEncryptionKey(key.toString('base64'))).toEqual(key);
    expect(parseEncryptionKey(` ${key.toString('base64')}\n`)).toEqual(key);
    for (const bad of [
      randomBytes(16).toString('base64'),
      key.toString('hex'),
      `${key.toString('base64')}AA`,
      '',
      '====',
    ]) {
      expect(parseEncryptionKey(bad)).toBeUndefined();
    }
  });
});
