import { formatTokens } from '../ledger/amount.models';
import { dayLabel, lastValidDay } from '../lib/expiry.models';
import { localDate } from '../lib/periods.models';
import { instantOfWallTime } from '../lib/zoned-time.models';
import { type ChatMessage, context, type Line, message, text } from '../notify/message.models';
import type { ExpiryNoticeKind } from './expiry-notices.tables';

// When a member is reminded that tokens expire, and the words. Each lot gets at most two reminders,
// each on its own local day from reminderLocalHour in the member's zone: 7 days before the last day the
// tokens are valid ("in 7 days"), and the day before it ("tomorrow"). A reminder whose day has passed is
// not sent late: a lot that appears 3 days before it expires gets only the day-before one. Allowance
// lots, which expire at every period's end, get only the day-before one. Pure.

/** The local hour (member's zone) from which a reminder's day counts: nobody is messaged at midnight. */
export const reminderLocalHour = 9;
/** How far ahead a sweep looks for lots to remind about (past the 7-day reminder's day). */
export const reminderHorizonMs = 8 * 86_400_000;

type Reminder = Exclude<ExpiryNoticeKind, 'expired'>;

/** `day` (YYYY-MM-DD) moved by `days`, at reminderLocalHour in `timeZone`. */
function reminderHourOn(day: string, days: number, timeZone: string): Date {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  const moved = new Date(Date.UTC(year, month - 1, date + days));
  return instantOfWallTime(timeZone, {
    year: moved.getUTCFullYear(),
    month: moved.getUTCMonth() + 1,
    day: moved.getUTCDate(),
    hour: reminderLocalHour,
  });
}

/**
 * The reminder due now for a lot expiring at `expiresAt` (its last valid day read in `timeZone`), or
 * undefined: `expiry_1d` from reminderLocalHour the day before its last day until it expires;
 * `expiry_7d` from that hour 7 days before its last day, for one day (not for allowance lots).
 */
export function dueReminder(input: {
  expiresAt: Date;
  now: Date;
  timeZone: string;
  allowance: boolean;
}): Reminder | undefined {
  const now = input.now.getTime();
  if (now >= input.expiresAt.getTime()) return undefined;
  const lastDay = lastValidDay(input.expiresAt, input.timeZone);
  if (now >= reminderHourOn(lastDay, -1, input.timeZone).getTime()) return 'expiry_1d';
  if (input.allowance) return undefined;
  const weekBefore = reminderHourOn(lastDay, -7, input.timeZone).getTime();
  if (now >= weekBefore && now < reminderHourOn(lastDay, -6, input.timeZone).getTime()) return 'expiry_7d';
  return undefined;
}

/** Whole local days from `now`'s day to the last valid day of a lot expiring at `expiresAt` (0: today). */
export function daysLeft(input: { expiresAt: Date; now: Date; timeZone: string }): number {
  const last = Date.parse(lastValidDay(input.expiresAt, input.timeZone));
  const today = Date.parse(localDate(input.now, input.timeZone));
  return Math.round((last - today) / 86_400_000);
}

function when(days: number): string {
  if (days <= 0) return 'at the end of today';
  if (days === 1) return 'at the end of tomorrow';
  return `in ${days} days`;
}

/** What one account's tokens are, in a sentence: `of your balance`, `of your budget`. */
const whose = (account: 'wallet' | 'budget') => (account === 'wallet' ? 'of your balance' : 'of your budget');

/** A reminder: `tokens` of the member's wallet or budget expire at the end of `day`, `days` from today. */
export function expiryReminderMessage(input: {
  tokens: bigint;
  day: string;
  days: number;
  account: 'wallet' | 'budget';
}): ChatMessage {
  const amount = `${formatTokens(input.tokens)} tokens`;
  const line: Line = [
    '⏳ ',
    { bold: amount },
    ` ${whose(input.account)} expire ${when(input.days)}`,
    input.days > 1 ? `, at the end of ${dayLabel(input.day)}.` : ` (${dayLabel(input.day)}).`,
  ];
  return message(
    `${amount} expire ${when(input.days)} (${dayLabel(input.day)})`,
    text(line),
    context(
      input.account === 'wallet'
        ? 'Tokens that expire soonest are spent first. Type /balance to see what you have.'
        : 'Grant them with /grant-tokens before then, or they go back unused.',
    ),
  );
}

/** After the sweeper expired them: `tokens` of the wallet or budget expired at the end of `day`. */
export function tokensExpiredMessage(input: {
  tokens: bigint;
  day: string;
  account: 'wallet' | 'budget';
  balance: bigint | undefined;
}): ChatMessage {
  const amount = `${formatTokens(input.tokens)} tokens`;
  return message(
    `${amount} ${whose(input.account)} expired`,
    text([{ bold: amount }, ` ${whose(input.account)} expired unused at the end of ${dayLabel(input.day)}.`]),
    ...(input.balance === undefined
      ? []
      : [
          context(
            `Your ${input.account === 'wallet' ? 'balance' : 'budget'} is now ${formatTokens(input.balance)} tokens.`,
          ),
        ]),
  );
}
