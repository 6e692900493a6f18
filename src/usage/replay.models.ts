import { createHash, hash } from 'node:crypto';
import { idempotencyKeyLengthMax } from '../ledger/ledger.models';

// Recognising a replay without work: the raw hash of an event as sent, the digest of a whole batch,
// and the idempotency key of the usage transfer an event debits (derived from its id alone).

/**
 * The hash of an event exactly as it was sent (its JSON text): an event whose id is stored with the
 * same raw hash is byte for byte the event that was accepted, so a replay is answered without
 * validating it again. Any other spelling of the same content (keys reordered, another time format)
 * misses this and takes the full path, where the content hash decides. Undefined when the event
 * cannot be written as JSON.
 */
export function hashRawEvent(raw: unknown): string | undefined {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  let text: string | undefined;
  try {
    text = JSON.stringify(raw);
  } catch {
    return undefined;
  }
  return text === undefined ? undefined : hash('sha256', text, 'base64url');
}

/**
 * The smallest batch worth a digest: a digest saves a resent batch one index probe per event but
 * costs a row for every batch accepted, so a small batch (a script reporting each call) is cheaper
 * to judge event by event.
 */
export const batchDigestEventsMin = 10;

/**
 * The digest of a batch as sent: the hash of its events' raw hashes in order; undefined for a batch
 * below batchDigestEventsMin, or when an event has no usable id or cannot be written as JSON (such
 * batches always take the per-event path).
 */
export function batchDigest(rawIds: readonly (string | undefined)[], rawHashes: readonly (string | undefined)[]) {
  if (
    rawIds.length < batchDigestEventsMin ||
    rawIds.some((id) => id === undefined) ||
    rawHashes.some((h) => h === undefined)
  ) {
    return undefined;
  }
  return hash('sha256', rawHashes.join('\n'), 'base64url');
}

const usageKeyPrefix = 'usage:';

/**
 * The idempotency key of the `usage` transfer of an event: `usage:<event id>`, or, for ids too long
 * to carry the prefix, `usage#<sha-256 of the id>`. Derived from the event id alone, so a replay
 * never debits twice, and prefixed so it cannot collide with a chat trigger or activity id.
 */
export function usageIdempotencyKey(eventId: string): string {
  const key = `${usageKeyPrefix}${eventId}`;
  return key.length <= idempotencyKeyLengthMax
    ? key
    : `usage#${createHash('sha256').update(eventId).digest('base64url')}`;
}
