import cron, { type ScheduledTask } from 'node-cron';
import { offsetChangeBetween, offsetMsAt, resolveWallTime, type WallTimeKind } from '../lib/zoned-time.models';

// When a cron schedule falls due, computed on the schedule's own local calendar. A cron expression
// names local times ("02:30 every Sunday in New York"); node-cron matches them against the wall clock,
// so a time the clocks jump over never matches and a time they repeat matches twice. Here each local
// time that matches is one *occurrence*, and the rule of src/lib/zoned-time.models.ts says when it runs:
// at the one instant it is shown; at the earlier of two when clocks go back; at the first instant
// after the jump when clocks go forward (the next local time that exists). Minute precision: a seconds
// field only picks which minutes match.

/** One local time at which a schedule falls due, and when it runs. */
export interface Occurrence {
  /** The local date and time the schedule names, to the minute: "2026-03-08T02:30". */
  local: string;
  timeZone: string;
  kind: WallTimeKind;
  /** When it runs (see the rule above). */
  runAt: Date;
  /** Every instant the wall clock shows `local` (none when skipped, two when repeated). */
  shownAt: Date[];
}

/** Longest span one search walks (a week of minutes, as the longest catch-up look-back). */
export const occurrenceSearchMsMax = 7 * 24 * 3_600_000;
/** Most occurrences one search returns; a schedule firing more often than this per span is cut. */
export const occurrencesPerSearchMax = 1_000;

const minuteMs = 60_000;
/** Spans are walked in pieces of at most this, each holding at most one offset change. */
const pieceMs = 12 * 3_600_000;

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

/** "2026-03-08T02:30" from a wall-clock minute written as a UTC millisecond count. */
function localOf(wallMs: number): string {
  const wall = new Date(wallMs);
  return `${pad(wall.getUTCFullYear(), 4)}-${pad(wall.getUTCMonth() + 1)}-${pad(wall.getUTCDate())}T${pad(wall.getUTCHours())}:${pad(wall.getUTCMinutes())}`;
}

/**
 * The occurrences of one cron expression in one zone. It holds a node-cron matcher (node-cron keeps a
 * registry of tasks), so call `dispose` when done.
 */
export class OccurrenceFinder {
  private readonly matcher: ScheduledTask;
  /** Which second of a minute the expression is matched at (its first allowed second). */
  private readonly secondMs: number;
  /** Minutes, hours and months the expression allows: a cheap first sieve before node-cron's match. */
  private readonly minutes: Set<number>;
  private readonly hours: Set<number>;
  private readonly months: Set<number>;

  constructor(
    readonly expression: string,
    readonly timeZone: string,
  ) {
    // Matching in UTC a Date whose UTC fields are the local wall-clock fields applies node-cron's own
    // reading of the expression (names, ranges, L, #) to the local calendar, with no daylight saving.
    this.matcher = cron.createTask(expression, () => {}, { timezone: 'UTC' });
    const fields = cron.parse(expression);
    this.secondMs = (fields.second[0] ?? 0) * 1_000;
    this.minutes = new Set(fields.minute);
    this.hours = new Set(fields.hour);
    this.months = new Set(fields.month);
  }

  dispose(): void {
    void this.matcher.destroy();
  }

  /**
   * The first wall-clock minute at or after `wallMs` whose minute, hour and month the expression
   * allows (the day fields are left to node-cron's match): skips whole hours and months at once.
   */
  private nextCandidate(wallMs: number): number {
    let wall = wallMs;
    for (;;) {
      const date = new Date(wall);
      if (!this.months.has(date.getUTCMonth() + 1)) {
        wall = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
      } else if (!this.hours.has(date.getUTCHours())) {
        wall = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate(), date.getUTCHours() + 1);
      } else if (!this.minutes.has(date.getUTCMinutes())) {
        wall += minuteMs;
      } else {
        return wall;
      }
    }
  }

  private matches(wallMinuteMs: number): boolean {
    return this.matcher.match(new Date(wallMinuteMs + this.secondMs));
  }

  private occurrence(wallMinuteMs: number, at: number): Occurrence | undefined {
    const wall = new Date(wallMinuteMs);
    const resolved = resolveWallTime(this.timeZone, {
      year: wall.getUTCFullYear(),
      month: wall.getUTCMonth() + 1,
      day: wall.getUTCDate(),
      hour: wall.getUTCHours(),
      minute: wall.getUTCMinutes(),
    });
    // The second showing of a repeated time is not an occurrence of its own.
    if (resolved.at.getTime() !== at) return undefined;
    return {
      local: localOf(wallMinuteMs),
      timeZone: this.timeZone,
      kind: resolved.kind,
      runAt: resolved.at,
      shownAt: resolved.shownAt,
    };
  }

  /** Occurrences that run after `after` and at or before `until`, oldest first (bounded, see above). */
  *between(after: Date, until: Date): Generator<Occurrence> {
    const end = until.getTime();
    let start = Math.max(after.getTime(), end - occurrenceSearchMsMax);
    let found = 0;
    while (start < end) {
      const pieceEnd = Math.min(start + pieceMs, end);
      const oldOffset = offsetMsAt(new Date(start), this.timeZone);
      const change = offsetChangeBetween(this.timeZone, new Date(start), new Date(pieceEnd), oldOffset);
      const segments: { from: number; to: number; offset: number }[] = change
        ? [
            { from: start, to: change.getTime() - 1, offset: oldOffset },
            { from: change.getTime() - 1, to: pieceEnd, offset: offsetMsAt(change, this.timeZone) },
          ]
        : [{ from: start, to: pieceEnd, offset: oldOffset }];
      for (const [index, segment] of segments.entries()) {
        if (index === 1 && change && segment.offset > oldOffset) {
          // Clocks jumped forward at `change`: every local minute jumped over runs then.
          const jumpedFrom = Math.ceil((change.getTime() + oldOffset) / minuteMs) * minuteMs;
          const jumpedTo = change.getTime() + segment.offset;
          for (let wall = this.nextCandidate(jumpedFrom); wall < jumpedTo; wall = this.nextCandidate(wall + minuteMs)) {
            if (!this.matches(wall)) continue;
            const occurrence = this.occurrence(wall, change.getTime());
            if (!occurrence) continue;
            yield occurrence;
            if (++found >= occurrencesPerSearchMax) return;
          }
        }
        // Instants in (from, to] show wall minutes in (from + offset, to + offset].
        const firstWall = Math.floor((segment.from + segment.offset) / minuteMs) * minuteMs + minuteMs;
        const lastWall = segment.to + segment.offset;
        for (let wall = this.nextCandidate(firstWall); wall <= lastWall; wall = this.nextCandidate(wall + minuteMs)) {
          if (!this.matches(wall)) continue;
          const occurrence = this.occurrence(wall, wall - segment.offset);
          if (!occurrence) continue;
          yield occurrence;
          if (++found >= occurrencesPerSearchMax) return;
        }
      }
      start = pieceEnd;
    }
  }

  /** The latest occurrence that runs after `until - lookbackMs` and at or before `until`. */
  latest(until: Date, lookbackMs: number): Occurrence | undefined {
    let last: Occurrence | undefined;
    for (const occurrence of this.between(new Date(until.getTime() - lookbackMs), until)) last = occurrence;
    return last;
  }
}

/**
 * The claim key of one run of a job: it names the local occurrence, so every replica and every
 * restart computes the same key. A local time shown exactly once is named by that instant
 * (`digest:12:3:2026-11-30T08:00:00.000Z`), as keys always were, so rows written before this rule
 * keep their meaning; a skipped or repeated local time, which no single instant names, is written
 * as the local date-time in its zone (RFC 9557 style: `digest:12:3:2026-03-08T02:30[America/New_York]`).
 */
export function idempotencyKeyOfRun(jobName: string, occurrence: Occurrence): string {
  if (occurrence.kind === 'unique') return `${jobName}:${occurrence.runAt.toISOString()}`;
  return `${jobName}:${occurrence.local}[${occurrence.timeZone}]`;
}

/**
 * Keys an earlier version (which keyed runs by the instant node-cron fired) may have written for the
 * same occurrence: the instants a repeated local time is shown. A claim is refused while any exists.
 */
export function earlierRunKeysOf(jobName: string, occurrence: Occurrence): string[] {
  if (occurrence.kind !== 'repeated') return [];
  return occurrence.shownAt.map((instant) => `${jobName}:${instant.toISOString()}`);
}

/** The occurrence whose local time the wall clock of `timeZone` shows at `at` (minute precision). */
export function occurrenceAt(timeZone: string, at: Date): Occurrence {
  const minute = Math.floor(at.getTime() / minuteMs) * minuteMs;
  const wallMinuteMs = minute + offsetMsAt(new Date(minute), timeZone);
  const wall = new Date(wallMinuteMs);
  const resolved = resolveWallTime(timeZone, {
    year: wall.getUTCFullYear(),
    month: wall.getUTCMonth() + 1,
    day: wall.getUTCDate(),
    hour: wall.getUTCHours(),
    minute: wall.getUTCMinutes(),
  });
  return { local: localOf(wallMinuteMs), timeZone, kind: resolved.kind, runAt: resolved.at, shownAt: resolved.shownAt };
}
