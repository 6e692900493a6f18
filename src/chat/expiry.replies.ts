import { formatTokens } from '../ledger/amount.models';
import { dayLabel, describeDefaultExpiry } from '../lib/expiry.models';
import { type Block, type ChatMessage, context, type Line, message, type Span, text } from '../notify/message.models';

// The words about expiring tokens in chat: how to type an expiry, the refusals of one that cannot be
// used, "valid until" on grants and approvals, the next expiry on /balance and the Home tab, and the
// organisation's default. The reminders themselves are written in src/digest/expiry-reminders.models.ts.

/** How an expiry is typed at the end of a chat command. */
export const expiryTailHelp = 'End the command with expires 2026-12-31, for 90d, or expires never.';

/** What a refusal of an expiry knows: the day asked for, and a day to suggest (a later one, or the latest allowed). */
export interface ExpiryRefusal {
  day: string;
  suggestion: string;
}

/** An expiry in the past: nothing was changed; a later date or a number of days instead. */
export function expiryPastLines(refused: ExpiryRefusal | undefined): Line[] {
  return refusedExpiryLines(refused, {
    why: 'has already passed',
    instead: 'a later date, like ',
    fallback: '2027-06-30',
    days: 'a number of days, like ',
    example: 'for 90d',
  });
}

/** An expiry more than five years ahead: nothing was changed; the latest date allowed, or fewer days. */
export function expiryTooFarLines(refused: ExpiryRefusal | undefined): Line[] {
  return refusedExpiryLines(refused, {
    why: 'is more than 5 years ahead',
    instead: 'a date up to ',
    fallback: 'in 5 years',
    days: 'fewer days, like ',
    example: 'for 365d',
  });
}

function refusedExpiryLines(
  refused: ExpiryRefusal | undefined,
  words: { why: string; instead: string; fallback: string; days: string; example: string },
): Line[] {
  return [
    [
      'That expiry',
      refused ? ` (${dayLabel(refused.day)})` : '',
      ` ${words.why}, so nothing was changed. End the command with ${words.instead}`,
      { code: `expires ${refused?.suggestion ?? words.fallback}` },
      `, or ${words.days}`,
      { code: words.example },
      '.',
    ],
  ];
}

/** `, valid until 31 Dec 2026` after an amount; nothing for tokens that never expire. */
export function validUntilSpans(validUntil: string | null | undefined): Span[] {
  return validUntil ? [`, valid until ${validUntil}`] : [];
}

/** The same, for a plain summary. */
export function validUntilText(validUntil: string | null | undefined): string {
  return validUntil ? `, valid until ${validUntil}` : '';
}

/** The next tokens to expire in one account: how many, and the day (in the member's zone). */
export interface NextExpiryShown {
  tokens: bigint;
  /** `YYYY-MM-DD`, the last day they are valid on. */
  day: string;
}

/**
 * "⏳ 100 tokens expire on 31 Dec 2026" under the balance (and the same for the budget); nothing when
 * no tokens expire.
 */
export function nextExpiryBlocks(next: { wallet?: NextExpiryShown; budget?: NextExpiryShown }): Block[] {
  const lines: Line[] = [];
  if (next.wallet) {
    lines.push([
      '⏳ ',
      { bold: `${formatTokens(next.wallet.tokens)} tokens` },
      ` expire on ${dayLabel(next.wallet.day)}`,
    ]);
  }
  if (next.budget) {
    lines.push([
      '⏳ ',
      { bold: `${formatTokens(next.budget.tokens)} tokens` },
      ` of the budget expire on ${dayLabel(next.budget.day)}`,
    ]);
  }
  return lines.length === 0 ? [] : [context(...lines.flatMap((line, index) => (index > 0 ? [' · ', ...line] : line)))];
}

/** True for the block nextExpiryBlocks writes (so usage lines can go after it). */
export function isNextExpiryBlock(block: Block | undefined): boolean {
  return block?.type === 'context' && block.line[0] === '⏳ ';
}

/** The organisation's default expiry, as set or shown by `/tokens default-expiry`. */
export function defaultExpiryMessage(input: { days: number | null; changed: boolean }): ChatMessage {
  const what = describeDefaultExpiry(input.days);
  const line: Line =
    input.days === null
      ? [
          input.changed ? 'Tokens granted from now on ' : 'Tokens granted ',
          { bold: 'never expire' },
          ' unless the command says when.',
        ]
      : [
          input.changed
            ? 'From now on, tokens granted, approved or added to budgets expire after '
            : 'Tokens granted, approved or added to budgets expire after ',
          { bold: what },
          ' unless the command says otherwise (',
          { code: 'for 30d' },
          ', ',
          { code: 'expires 2026-12-31' },
          ', ',
          { code: 'expires never' },
          ').',
        ];
  return message(
    input.changed ? `Default expiry set: ${what}` : `Default expiry: ${what}`,
    text(line),
    context('Change it with /tokens default-expiry 90d, or /tokens default-expiry none.'),
  );
}
