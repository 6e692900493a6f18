import { dateInputHelp, instantOfDateInput, parseDateInput } from '../lib/date-input.models';
import { localDate } from '../lib/periods.models';

// Dates typed into the dashboard's filters and export forms (an <input type="date"> sends YYYY-MM-DD),
// read by the one date rule (lib/date-input.models.ts) in the organisation's time zone. Pure.

export interface DateRange {
  /** Included; the start of that day in the organisation's zone. */
  from?: Date;
  /** Not included. */
  to?: Date;
}

export type RangeParse = { ok: true; range: DateRange } | { ok: false; message: string };

/** `from` and `to` as typed (empty means open), each the start of its day in `timeZone`; from must be before to. */
export function readDateRange(input: { from: string; to: string }, timeZone: string): RangeParse {
  const range: DateRange = {};
  for (const side of ['from', 'to'] as const) {
    const text = input[side].trim();
    if (text === '') continue;
    const parsed = parseDateInput(text);
    if (!parsed.ok) return { ok: false, message: `“${side === 'from' ? 'From' : 'To'}”: ${parsed.message}` };
    range[side] = instantOfDateInput(parsed.value, timeZone);
  }
  if (range.from && range.to && range.from >= range.to) {
    return { ok: false, message: `“From” must be before “To”. ${dateInputHelp}` };
  }
  return { ok: true, range };
}

/** The oldest day a usage export reaches when no “From” is given (no usage event is older). */
export const usageDaysFrom = '2000-01-01';

/** A range as local days [start, end) for the daily rollups; an open end is the day after `now`. */
export function rangeAsDays(range: DateRange, timeZone: string, now: Date): { start: string; end: string } {
  const tomorrow = new Date(now.getTime() + 86_400_000);
  return {
    start: range.from ? localDate(range.from, timeZone) : usageDaysFrom,
    end: localDate(range.to ?? tomorrow, timeZone),
  };
}
