import { createHash } from 'node:crypto';
import { transferTokensMax } from './ledger.tables';

/** Most people one grant may name. */
export const grantRecipientsMax = 50;
/** Longest memo kept on a transfer; longer reasons are cut (never refused). */
export const memoLengthMax = 500;
/** Longest idempotency key (the column's CHECK agrees). */
export const idempotencyKeyLengthMax = 255;

/**
 * Most tokens one grant or budget issue moves without the person confirming it: above this the CLI asks
 * for `--yes` and chat for a Confirm click. Counted on the total moved (a grant's amount times the
 * people it names), the safer reading: 5,000,000 each to three people moves 15,000,000 and is asked.
 */
export const unconfirmedTokensMax = 10_000_000n;

/** True when moving `total` tokens in one operation needs the person's confirmation first. */
export function needsConfirmation(total: bigint): boolean {
  return total > unconfirmedTokensMax;
}

export function isValidAmount(amount: bigint): boolean {
  return amount >= 1n && amount <= transferTokensMax;
}

export function cleanMemo(memo: string | undefined): string {
  // Control characters other than newline and tab are dropped; the rest is stored verbatim.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point.
  const text = (memo ?? '').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '').trim();
  return text.length > memoLengthMax ? `${text.slice(0, memoLengthMax - 1)}…` : text;
}

/** A stable hash of an operation's body: the same key with another body is a conflict. */
export function hashOperation(body: Record<string, unknown>): string {
  const canonical = JSON.stringify(body, (_key, value) => (typeof value === 'bigint' ? value.toString() : value));
  return createHash('sha256').update(canonical).digest('base64url');
}
