// Wall-clock arithmetic in IANA time zones with Intl only: offsets, wall times and the instants they
// name, across daylight-saving changes. Periods built on them live in periods.models.ts.

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
export function offsetMsAt(at: Date, timeZone: string): number {
  const wall = wallTimeAt(at, timeZone);
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  return asUtc - Math.floor(at.getTime() / 1000) * 1000;
}

/**
 * The first instant after `after` and at or before `until` at which the offset of `timeZone` is the
 * one it has at `until` (to the second), when the offsets at the two ends differ; undefined when they
 * do not. Meant for spans of at most a day or so, which hold at most one change in any real zone.
 */
export function offsetChangeBetween(
  timeZone: string,
  after: Date,
  until: Date,
  offsetAfterMs = offsetMsAt(after, timeZone),
): Date | undefined {
  const before = offsetAfterMs;
  const target = offsetMsAt(until, timeZone);
  if (before === target) return undefined;
  let low = after.getTime();
  let high = until.getTime();
  // Invariant: the offset at `low` is the old one and at `high` the new one; changes fall on whole seconds.
  while (high - low > 1_000) {
    const middle = low + Math.max(1, Math.floor((high - low) / 2_000)) * 1_000;
    if (offsetMsAt(new Date(middle), timeZone) === target) high = middle;
    else low = middle;
  }
  // The change is the one whole second in (low, high]: the second after the one `low` falls in.
  return new Date(Math.floor(low / 1_000) * 1_000 + 1_000);
}

/**
 * What a local time is in a zone on a given day: shown once (`unique`), twice because clocks went
 * back (`repeated`), or never because clocks jumped over it (`skipped`).
 */
export type WallTimeKind = 'unique' | 'repeated' | 'skipped';

export interface ResolvedWallTime {
  kind: WallTimeKind;
  /**
   * The instant that stands for the local time: the one instant it is shown (`unique`), the earlier
   * of the two (`repeated`), or the first instant after the jump, i.e. the next local time that exists
   * (`skipped`: 02:30 on a day clocks jump from 02:00 to 03:00 resolves to 03:00).
   */
  at: Date;
  /** Every instant at which the wall clock shows this local time (0, 1 or 2), oldest first. */
  shownAt: Date[];
}

/**
 * Resolves a local date and time in `timeZone` to instants: the single rule Allot uses for any local
 * time across a daylight-saving change (schedules, allowance periods, report windows). Minute precision.
 */
export function resolveWallTime(
  timeZone: string,
  local: { year: number; month: number; day: number; hour?: number; minute?: number },
): ResolvedWallTime {
  const guess = Date.UTC(local.year, local.month - 1, local.day, local.hour ?? 0, local.minute ?? 0);
  // The offsets a day before and after bracket any change; each gives one candidate instant.
  const dayMs = 86_400_000;
  const earlierOffset = offsetMsAt(new Date(guess - dayMs), timeZone);
  const laterOffset = offsetMsAt(new Date(guess + dayMs), timeZone);
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
  const candidates = [...new Set([guess - earlierOffset, guess - laterOffset])].sort((a, b) => a - b);
  const shownAt = candidates.filter(shows).map((instant) => new Date(instant));
  if (shownAt.length === 2) return { kind: 'repeated', at: shownAt[0]!, shownAt };
  if (shownAt.length === 1) return { kind: 'unique', at: shownAt[0]!, shownAt };
  // Skipped: clocks jumped forward over this local time between the two candidates.
  const low = new Date(candidates[0]! - dayMs / 2);
  const high = new Date(candidates[candidates.length - 1]! + dayMs / 2);
  const jump = offsetChangeBetween(timeZone, low, high);
  return { kind: 'skipped', at: jump ?? new Date(candidates[candidates.length - 1]!), shownAt: [] };
}

/**
 * The instant that stands for a local time in `timeZone` (see `resolveWallTime`): a time repeated by
 * a fall-back change resolves to the earlier instant, and a time skipped by a spring-forward jump to
 * the first instant after the jump (the next local time that exists).
 */
export function instantOfWallTime(
  timeZone: string,
  local: { year: number; month: number; day: number; hour?: number; minute?: number },
): Date {
  return resolveWallTime(timeZone, local).at;
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
