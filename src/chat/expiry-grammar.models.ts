import { type ExpiryInput, looksLikeDuration, parseDurationDays, parseExpiryInput } from '../lib/expiry.models';
import type { CommandToken } from './words.models';

// The expiry at the end of a chat command (`/grant-tokens @ana 50k thanks for 90d`, `… expires 2026-12-31`,
// `… expires never`), and the words of the two commands about expiry (`/tokens approve 12 for 90d`,
// `/tokens default-expiry 90d`). Read strictly by lib/expiry.models.ts: a tail that is meant as an expiry
// but cannot be read is refused, never taken as part of the reason.

/** The words that start an expiry at the end of a command: `expires 2026-12-31`, `expires on 2026-12-31`. */
const expiryKeywords = ['expires', 'expire', 'expiry'];

/** A command's tokens with the expiry at their end taken off, or why the expiry cannot be read. */
export type ExpiryTail =
  | { ok: true; rest: CommandToken[]; expiry: ExpiryInput | undefined }
  | { ok: false; problem: string };

const wordOf = (token: CommandToken | undefined) => (token?.kind === 'word' ? token.text : undefined);

/**
 * Takes `expires <when>`, `expires on <when>` or `for <N>d` off the end of `tokens`. `for` followed by
 * anything that is not written as a number of days (`thanks for everything`) stays part of the reason.
 */
export function takeExpiryTail(tokens: CommandToken[]): ExpiryTail {
  const last = wordOf(tokens.at(-1));
  const before = wordOf(tokens.at(-2))?.toLowerCase();
  if (last === undefined || before === undefined) return { ok: true, rest: tokens, expiry: undefined };
  if (before === 'for' && looksLikeDuration(last)) {
    const days = parseDurationDays(last);
    if (!days.ok) return { ok: false, problem: days.message };
    return { ok: true, rest: tokens.slice(0, -2), expiry: { kind: 'duration', days: days.value } };
  }
  const on = before === 'on' && expiryKeywords.includes(wordOf(tokens.at(-3))?.toLowerCase() ?? '');
  if (!on && !expiryKeywords.includes(before)) return { ok: true, rest: tokens, expiry: undefined };
  const parsed = parseExpiryInput(last);
  if (!parsed.ok) return { ok: false, problem: parsed.message };
  return { ok: true, rest: tokens.slice(0, on ? -3 : -2), expiry: parsed.value };
}

/** A request id as typed after `/tokens approve`: `12` or `#12`. */
export function readRequestId(token: CommandToken | undefined): bigint | undefined {
  const match = /^#?([0-9]{1,18})$/.exec(wordOf(token) ?? '');
  return match ? BigInt(match[1]!) : undefined;
}

/**
 * The words after `/tokens default-expiry`: nothing (show it), `none` or `never` (no default), or a
 * number of days (`90d`). A date is refused: a default that is one day would soon be in the past.
 */
export function readDefaultExpiry(
  tokens: CommandToken[],
): { ok: true; days: number | null | undefined } | { ok: false; problem: string } {
  if (tokens.length === 0) return { ok: true, days: undefined };
  const word = wordOf(tokens[0]);
  if (tokens.length > 1 || word === undefined)
    return { ok: false, problem: 'Give one number of days, like 90d, or none.' };
  if (['none', 'never', 'off'].includes(word.toLowerCase())) return { ok: true, days: null };
  const days = parseDurationDays(word);
  if (!days.ok) {
    return {
      ok: false,
      problem: looksLikeDuration(word)
        ? days.message
        : `“${word.slice(0, 20)}” is not a number of days. The default is a number of days, like 90d, or none.`,
    };
  }
  return { ok: true, days: days.value };
}
