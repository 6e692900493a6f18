// Wall-clock arithmetic in IANA time zones with Intl only: periods (weeks, months, quarters) start at
// local midnight in a member's or organisation's own zone, across daylight-saving changes.

export interface WallTime {
  year: number;
  /** 1 to 12. */
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** 1 = Monday … 7 = Sunday (ISO). */
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const weekdays: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The wall-clock time in `timeZone` at instant `at`. */
export function wallTimeAt(at: Date, timeZone: string): WallTime & { second: number } {
  const parts = Object.fromEntries(
    formatterFor(timeZone)
      .formatToParts(at)
      .map((part) => [part.type, part.value]),
  );
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: weekdays[parts.weekday ?? 'Mon'] ?? 1,
  };
}

/** Offset of `timeZone` from UTC at instant `at`, in milliseconds (east positive). */
function offsetMs(at: Date, timeZone: string): number {
  const wall = wallTimeAt(at, timeZone);
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  return asUtc - Math.floor(at.getTime() / 1000) * 1000;
}

/**
 * The instant at which the wall clock in `timeZone` shows the given local time. As Temporal's
 * "compatible" rule: a time repeated by a fall-back change resolves to the earlier instant, and a
 * time skipped by a spring-forward jump moves forward by the gap (02:30 becomes 03:30).
 */
export function instantOfWallTime(
  timeZone: string,
  local: { year: number; month: number; day: number; hour?: number; minute?: number },
): Date {
  const guess = Date.UTC(local.year, local.month - 1, local.day, local.hour ?? 0, local.minute ?? 0);
  // The offsets a day before and after bracket any change; each gives one candidate instant.
  const dayMs = 86_400_000;
  const first = guess - offsetMs(new Date(guess - dayMs), timeZone);
  const second = guess - offsetMs(new Date(guess + dayMs), timeZone);
  const shows = (instant: number) => {
    const wall = wallTimeAt(new Date(instant), timeZone);
    return (
      wall.year === local.year &&
      wall.month === local.month &&
      wall.day === local.day &&
      wall.hour === (local.hour ?? 0) &&
      wall.minute === (local.minute ?? 0)
    );
  };
  const matching = [first, second].filter(shows);
  return new Date(matching.length > 0 ? Math.min(...matching) : Math.max(first, second));
}

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

const knownZones = new Set<string>([...Intl.supportedValuesOf('timeZone'), 'UTC', 'Etc/UTC']);

/** True for a name on the IANA list (as this Node.js build knows it), e.g. Europe/Berlin or UTC. */
export function isTimeZone(zone: string): boolean {
  if (knownZones.has(zone)) return true;
  // Links such as Asia/Calcutta or US/Eastern are on the IANA list but not in Intl's canonical set.
  if (!/^[A-Za-z]+(\/[A-Za-z0-9_+-]+)+$/.test(zone) || zone.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
