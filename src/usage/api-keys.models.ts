import { createHash, randomBytes } from 'node:crypto';

// API keys of the usage API: `allot_` and 43 base64url characters (32 random bytes), stored as a
// SHA-256 hash with a visible prefix so admins can tell keys apart; named for listing and revoking.

export const apiKeyPrefix = 'allot_';
const apiKeyVisibleLength = apiKeyPrefix.length + 6;
const apiKeyNamePattern = /^[a-z0-9][a-z0-9_.-]{0,62}$/i;
const apiKeyPattern = /^allot_[A-Za-z0-9_-]{43}$/;

export function generateApiKey(): { key: string; hash: string; prefix: string } {
  const key = `${apiKeyPrefix}${randomBytes(32).toString('base64url')}`;
  return { key, hash: hashApiKey(key), prefix: key.slice(0, apiKeyVisibleLength) };
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function looksLikeApiKey(text: string): boolean {
  return apiKeyPattern.test(text);
}

export function isValidApiKeyName(name: string): boolean {
  return apiKeyNamePattern.test(name);
}
