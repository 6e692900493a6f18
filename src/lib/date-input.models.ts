import { z } from 'zod';
import { instantOfWallTime } from './zoned-time.models';

// Dates and times typed by people (CLI options, chat words), read strictly in one place. Two forms
// only: a calendar date `YYYY-MM-DD`, or a full ISO 8601 date-time with its zone, `Z` or `±hh:mm`
// (`2026-01-31T09:00Z`, `2026-01-31T09:00:00.5+01:00`). Nothing rolls over: 2026-02-30 and
// 2026-13-01 are refused (JavaScript's Date would read the first as 2 March), and so are bare numbers
// (`1`, `2026`), which Date reads as years. The calendar check is zod's ISO date pattern (leap years
// included), the one the usage API's times already go through.
//
// Readers of other typed time values share its result shape: the expiry reader of lib/expiry.models.ts
// (`expires 2026-12-31`, `for 90d`, `never`) reads a number of days itself and dates through this one.

/** A date or a moment as a person typed it, before any time zone is applied to a bare date. */
export type DateInput =
  /** A calendar date with no time: which instant it means depends on whose midnight (see instantOfDateInput). */
  | { kind: 'date'; year: number; month: number; day: number }
  /** A moment: the zone was typed, so it is one instant everywhere. */
  | { kind: 'instant'; at: Date };

/** What a reader of typed input answers: the value, or a refusal (named `F`) saying what to type instead. */
export type InputParse<T, F extends string = 'date_invalid'> =
  | { ok: true; value: T }
  | { ok: false; failure: F; message: string };

export const dateInputHelp =
  'Type a date like 2026-01-31, or a date and time with its zone like 2026-01-31T09:00:00Z or 2026-01-31T09:00:00+01:00.';

/** Longest text read as a date; longer is refused without parsing. */
const dateTextLengthMax = 40;

const calendarDate = z.iso.date();
const timeOfDay = z.iso.time();
const datePattern = /^(?<year>[0-9]{4})-(?<month>[0-9]{2})-(?<day>[0-9]{2})$/;
const dateTimePattern =
  /^(?<date>[0-9]{4}-[0-9]{2}-[0-9]{2})T(?<time>[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?)(?<zone>Z|[+-][0-9]{2}:[0-9]{2})?$/;
const offsetPattern = /^(?<sign>[+-])(?<hours>[01][0-9]|2[0-3]):(?<minutes>[0-5][0-9])$/;
const monthNames = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/**
 * Reads a date or a date-time typed by a person. Accepted: `YYYY-MM-DD` (a real calendar date), and
 * `YYYY-MM-DDThh:mm[:ss[.fraction]]` followed by `Z` or `±hh:mm`. Refused, with a message that says what
 * was wrong and gives an example: impossible dates (2026-02-30, 2026-13-01), bare numbers, a date-time
 * without a zone (whose zone would be a guess), any other shape (`31/01/2026`, `2026-1-5`, `+0100`).
 */
export function parseDateInput(input: string): InputParse<DateInput> {
  const text = input.trim();
  const shown = text.length > dateTextLengthMax ? `${text.slice(0, dateTextLengthMax)}…` : text;
  const refuse = (why: string): InputParse<DateInput> => ({
    ok: false,
    failure: 'date_invalid',
    message: `“${shown}” ${why} ${dateInputHelp}`,
  });
  if (text.length === 0) return { ok: false, failure: 'date_invalid', message: `No date given. ${dateInputHelp}` };
  if (text.length > dateTextLengthMax) return refuse('is too long to be a date.');
  const dateOnly = datePattern.exec(text);
  if (dateOnly?.groups) {
    const problem = calendarProblem(text);
    if (problem) return refuse(problem);
    const { year, month, day } = dateOnly.groups;
    return { ok: true, value: { kind: 'date', year: Number(year), month: Number(month), day: Number(day) } };
  }
  const dateTime = dateTimePattern.exec(text);
  if (!dateTime?.groups) {
    return /^[0-9]+$/.test(text) ? refuse('is a number, not a date.') : refuse('is not a date I can read.');
  }
  const { date = '', time = '', zone } = dateTime.groups;
  const problem = calendarProblem(date);
  if (problem) return refuse(problem);
  if (!timeOfDay.safeParse(time).success)
    return refuse(`has an impossible time of day, “${time}” (hours 00–23, minutes and seconds 00–59).`);
  if (!zone) return refuse('has no time zone; add Z for UTC or an offset like +01:00.');
  const offset = offsetPattern.exec(zone);
  if (zone !== 'Z' && !offset?.groups) return refuse(`has an offset “${zone}” that no zone has (at most ±23:59).`);
  const [hours = '0', minutes = '0', seconds = '0'] = time.split(':');
  const [wholeSeconds = '0', fraction = ''] = seconds.split('.');
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(Number(hours), Number(minutes), Number(wholeSeconds), Number(fraction.padEnd(3, '0').slice(0, 3)));
  const offsetMinutes = offset?.groups
    ? (offset.groups.sign === '-' ? -1 : 1) * (Number(offset.groups.hours) * 60 + Number(offset.groups.minutes))
    : 0;
  return { ok: true, value: { kind: 'instant', at: new Date(utc.getTime() - offsetMinutes * 60_000) } };
}

/** Why a `YYYY-MM-DD` text is not a calendar date, or undefined when it is one (zod's check decides). */
function calendarProblem(text: string): string | undefined {
  if (calendarDate.safeParse(text).success) return undefined;
  const [year = 0, month = 0, day = 0] = text.split('-').map(Number);
  if (month < 1 || month > 12) return `is not a date: there is no month ${month}.`;
  const days = new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeapYear(year) ? 1 : 0);
  return `is not a date: ${monthNames[month - 1]} ${year} has ${days} days, not ${day}.`;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/**
 * The instant a typed date or date-time stands for. A date-time is the instant it names. A bare date is
 * the midnight that starts that day in `timeZone` (an IANA zone; `UTC` for UTC midnight): callers say
 * whose midnight in their doc and help text (the CLI's export and price dates use UTC, as documented).
 */
export function instantOfDateInput(input: DateInput, timeZone: string): Date {
  if (input.kind === 'instant') return input.at;
  if (timeZone === 'UTC') {
    const at = new Date(0);
    at.setUTCFullYear(input.year, input.month - 1, input.day);
    return at;
  }
  return instantOfWallTime(timeZone, { year: input.year, month: input.month, day: input.day });
}

/** parseDateInput, then instantOfDateInput: a typed date or date-time as an instant (bare dates at `timeZone` midnight). */
export function parseInstantInput(input: string, options: { dateOnlyZone: string }): InputParse<Date> {
  const parsed = parseDateInput(input);
  if (!parsed.ok) return parsed;
  return { ok: true, value: instantOfDateInput(parsed.value, options.dateOnlyZone) };
}
