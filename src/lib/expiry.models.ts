import { type DateInput, type InputParse, parseDateInput } from './date-input.models';
import { instantOfWallTime, wallTimeAt } from './zoned-time.models';

// When granted tokens expire, as people type it (`expires 2026-12-31`, `for 90d`, `--expires never`) and
// as the ledger stores it (the instant a lot's remains move to `expired`). One rule for every command:
// a date is the end of that day in the recipient's zone, a duration of N days the end of the local day
// N days from now, and an expiry in the past or more than five years ahead is refused. Pure: the caller
// gives the time and the zone.

/** An expiry as typed: a date, a moment with its zone, a number of days, or explicitly none. */
export type ExpiryInput =
  | Extract<DateInput, { kind: 'date' }>
  | Extract<DateInput, { kind: 'instant' }>
  | { kind: 'duration'; days: number }
  | { kind: 'never' };

/** Furthest ahead an expiry may be, in years from today (local). */
export const expiryYearsMax = 5;
/** Most days a typed duration may say before it is refused without reading further (5 years and leap days). */
export const expiryDaysMax = expiryYearsMax * 366;

export const expiryHelp = 'Type a date like 2026-12-31, a number of days like 90d, or never.';

/** The words that ask for no expiry even when the organisation has a default. */
const neverWords = ['never', 'none'];
/** Text that is meant as a number of days (`90d`, `1.5d`, `-5d`, `30days`), read strictly by parseDurationDays. */
const durationLike = /^[+-]?[0-9٠-٩۰-۹.,]+(d|day|days)$/i;
const durationPattern = /^([0-9]{1,6})(d|day|days)$/i;

/** True when `text` is written as a number of days (well or badly): `for <text>` is then an expiry. */
export function looksLikeDuration(text: string): boolean {
  return durationLike.test(text.trim());
}

/**
 * Reads a number of days, `90d` (also `90day`, `90days`): a whole number from 1 to expiryDaysMax. Refused
 * with what to type instead: `0d`, `-5d`, `1.5d`, `1,000d`, digits other than 0–9, anything else.
 */
export function parseDurationDays(input: string): InputParse<number, 'duration_invalid'> {
  const text = input.trim();
  const shown = text.length > 20 ? `${text.slice(0, 20)}…` : text;
  const refuse = (why: string): InputParse<number, 'duration_invalid'> => ({
    ok: false,
    failure: 'duration_invalid',
    message: `“${shown}” ${why}`,
  });
  const match = durationPattern.exec(text);
  if (!match) return refuse('is not a number of days. Type a whole number of days like 90d.');
  const days = Number(match[1]);
  if (days < 1) return refuse('would expire at once. Type at least 1d, like 90d.');
  if (days > expiryDaysMax)
    return refuse(`is more than ${expiryYearsMax} years ahead. Type at most ${expiryDaysMax}d, like 365d.`);
  return { ok: true, value: days };
}

/**
 * Reads an expiry typed after `expires` (chat) or `--expires` (CLI): `never` or `none`, a number of days
 * (`90d`), or a date by the one strict date rule (`2026-12-31`, or a date-time with its zone). Whether
 * it is in the past or too far ahead is decided later, against the clock and the recipient's zone.
 */
export function parseExpiryInput(input: string): InputParse<ExpiryInput, 'date_invalid' | 'duration_invalid'> {
  const text = input.trim();
  if (neverWords.includes(text.toLowerCase())) return { ok: true, value: { kind: 'never' } };
  if (looksLikeDuration(text)) {
    const days = parseDurationDays(text);
    return days.ok ? { ok: true, value: { kind: 'duration', days: days.value } } : days;
  }
  const date = parseDateInput(text);
  if (!date.ok)
    return { ...date, message: `${date.message} For an expiry, a number of days like 90d or never also do.` };
  return { ok: true, value: date.value };
}

/** A local calendar day as numbers. */
interface Day {
  year: number;
  month: number;
  day: number;
}

function addDays(day: Day, days: number): Day {
  const at = new Date(Date.UTC(day.year, day.month - 1, day.day + days));
  return { year: at.getUTCFullYear(), month: at.getUTCMonth() + 1, day: at.getUTCDate() };
}

/** The first instant after local day `day` in `timeZone`: when a lot "valid until" that day expires. */
export function endOfLocalDay(timeZone: string, day: Day): Date {
  return instantOfWallTime(timeZone, addDays(day, 1));
}

/**
 * The instant a lot expires for a recipient in `timeZone`, or null for no expiry: a date is the end of
 * that day there, a moment is itself, N days the end of the local day N days after today.
 */
export function expiryInstant(input: ExpiryInput, options: { now: Date; timeZone: string }): Date | null {
  switch (input.kind) {
    case 'never':
      return null;
    case 'instant':
      return input.at;
    case 'date':
      return endOfLocalDay(options.timeZone, input);
    case 'duration':
      return endOfLocalDay(options.timeZone, addDays(wallTimeAt(options.now, options.timeZone), input.days));
  }
}

/** The latest expiry allowed now in `timeZone`: the end of the same local day expiryYearsMax years on. */
export function latestExpiry(options: { now: Date; timeZone: string }): Date {
  const today = wallTimeAt(options.now, options.timeZone);
  const last = new Date(Date.UTC(today.year + expiryYearsMax, today.month - 1, today.day));
  return endOfLocalDay(options.timeZone, {
    year: last.getUTCFullYear(),
    month: last.getUTCMonth() + 1,
    day: last.getUTCDate(),
  });
}

export type ExpiryProblem = 'expiry_past' | 'expiry_too_far';

/** Why an expiry instant cannot be used now (in the past, or beyond latestExpiry), or undefined when it can. */
export function expiryProblem(at: Date, options: { now: Date; timeZone: string }): ExpiryProblem | undefined {
  if (at.getTime() <= options.now.getTime()) return 'expiry_past';
  if (at.getTime() > latestExpiry(options).getTime()) return 'expiry_too_far';
  return undefined;
}

const pad = (value: number) => String(value).padStart(2, '0');

/** The local day (`YYYY-MM-DD`) a lot expiring at `at` is last valid on in `timeZone`. */
export function lastValidDay(at: Date, timeZone: string): string {
  const wall = wallTimeAt(new Date(at.getTime() - 1), timeZone);
  return `${wall.year}-${pad(wall.month)}-${pad(wall.day)}`;
}

const monthsShort = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A `YYYY-MM-DD` day as people read it: `31 Dec 2026`. */
export function dayLabel(day: string): string {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  return `${date} ${monthsShort[month - 1]} ${year}`;
}

/** The day a lot expiring at `at` is valid until, as people read it in `timeZone`: `31 Dec 2026`. */
export function validUntilLabel(at: Date, timeZone: string): string {
  return dayLabel(lastValidDay(at, timeZone));
}

/** A day `days` after today in `timeZone`, as `YYYY-MM-DD`: the example a refusal suggests. */
export function dayFromToday(options: { now: Date; timeZone: string; days: number }): string {
  const day = addDays(wallTimeAt(options.now, options.timeZone), options.days);
  return `${day.year}-${pad(day.month)}-${pad(day.day)}`;
}

/**
 * An expiry as one short text (`never`, `date:2026-12-31`, `days:90`, `at:2026-12-31T09:00:00.000Z`): how
 * a confirmation button carries it back. decodeExpiry reads it.
 */
export function encodeExpiry(input: ExpiryInput): string {
  switch (input.kind) {
    case 'never':
      return 'never';
    case 'instant':
      return `at:${input.at.toISOString()}`;
    case 'date':
      return `date:${input.year}-${pad(input.month)}-${pad(input.day)}`;
    case 'duration':
      return `days:${input.days}`;
  }
}

/** Reads what encodeExpiry wrote; undefined for anything else. */
export function decodeExpiry(text: string): ExpiryInput | undefined {
  if (text === 'never') return { kind: 'never' };
  const [kind, value = ''] = [text.slice(0, text.indexOf(':')), text.slice(text.indexOf(':') + 1)];
  if (kind === 'days') {
    const days = parseDurationDays(`${value}d`);
    return days.ok ? { kind: 'duration', days: days.value } : undefined;
  }
  const date = kind === 'date' || kind === 'at' ? parseDateInput(value) : undefined;
  if (!date?.ok || (kind === 'date') !== (date.value.kind === 'date')) return undefined;
  return date.value;
}

/**
 * The expiry as it enters an operation's body hash: the same idempotency key with another expiry is a
 * conflict. The typed form (not the instants), so a retry of `for 90d` after midnight still replays.
 * Undefined for no expiry, so operations without one hash as they always did.
 */
export function expiryHashPart(input: ExpiryInput): string | undefined {
  return input.kind === 'never' ? undefined : encodeExpiry(input);
}

/** An organisation's default as people read it: `90 days`, or `none`. */
export function describeDefaultExpiry(days: number | null): string {
  if (days === null) return 'none';
  return `${days} day${days === 1 ? '' : 's'}`;
}
