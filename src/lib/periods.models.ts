// Periods in a time zone: the one home of period arithmetic. A day, week (from Monday), month or
// quarter starts at local midnight in the member's or organisation's own zone, across daylight-saving
// changes. Two shapes, one rule: instants (`periodStart`, `nextPeriodStart`, `previousPeriodStart`,
// for comparing with transfer times and scheduling) and local calendar dates "YYYY-MM-DD"
// (`localDate`, `currentPeriod`, for keys and the rollup tables, whose days are local days).
import { instantOfWallTime, wallTimeAt } from './zoned-time.models';

export type PeriodKind = 'day' | 'week' | 'month' | 'quarter';

/** Start of the period containing `at`, in `timeZone` (weeks start on Monday). */
export function periodStart(kind: PeriodKind, timeZone: string, at: Date): Date {
  const wall = wallTimeAt(at, timeZone);
  const date = new Date(Date.UTC(wall.year, wall.month - 1, wall.day));
  if (kind === 'week') date.setUTCDate(date.getUTCDate() - (wall.weekday - 1));
  if (kind === 'month') date.setUTCDate(1);
  if (kind === 'quarter') {
    date.setUTCDate(1);
    date.setUTCMonth(Math.floor(date.getUTCMonth() / 3) * 3);
  }
  return instantOfWallTime(timeZone, {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
  });
}

/** Start of the period after the one containing `at`. */
export function nextPeriodStart(kind: PeriodKind, timeZone: string, at: Date): Date {
  const start = wallTimeAt(periodStart(kind, timeZone, at), timeZone);
  const date = new Date(Date.UTC(start.year, start.month - 1, start.day));
  if (kind === 'day') date.setUTCDate(date.getUTCDate() + 1);
  if (kind === 'week') date.setUTCDate(date.getUTCDate() + 7);
  if (kind === 'month') date.setUTCMonth(date.getUTCMonth() + 1);
  if (kind === 'quarter') date.setUTCMonth(date.getUTCMonth() + 3);
  return instantOfWallTime(timeZone, {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
  });
}

/** Start of the period before the one containing `at`. */
export function previousPeriodStart(kind: PeriodKind, timeZone: string, at: Date): Date {
  const start = periodStart(kind, timeZone, at);
  return periodStart(kind, timeZone, new Date(start.getTime() - 60_000));
}

/** The local calendar date (YYYY-MM-DD) of an instant in a zone; used in idempotency keys. */
export function localDate(at: Date, timeZone: string): string {
  const wall = wallTimeAt(at, timeZone);
  return `${wall.year}-${String(wall.month).padStart(2, '0')}-${String(wall.day).padStart(2, '0')}`;
}

/** The leaderboard and rollup windows: a period of local days. */
export type PeriodWindow = Exclude<PeriodKind, 'day'>;

function isoDay(year: number, month: number, day: number): string {
  return new Date(Date.UTC(year, month - 1, day)).toISOString().slice(0, 10);
}

/** The current week (from Monday), month or quarter at `at`, as local dates [start, end). */
export function currentPeriod(window: PeriodWindow, at: Date, timeZone: string): { start: string; end: string } {
  const local = wallTimeAt(at, timeZone);
  switch (window) {
    case 'week': {
      const start = local.day - (local.weekday - 1);
      return { start: isoDay(local.year, local.month, start), end: isoDay(local.year, local.month, start + 7) };
    }
    case 'month':
      return { start: isoDay(local.year, local.month, 1), end: isoDay(local.year, local.month + 1, 1) };
    case 'quarter': {
      const first = Math.floor((local.month - 1) / 3) * 3 + 1;
      return { start: isoDay(local.year, first, 1), end: isoDay(local.year, first + 3, 1) };
    }
  }
}

/** Start of a local date ("2026-11-01") in the zone, as an instant (for comparing with transfer times). */
export function zonedDayStart(day: string, timeZone: string): Date {
  const [year, month, date] = day.split('-').map(Number);
  return instantOfWallTime(timeZone, { year: year!, month: month!, day: date! });
}
