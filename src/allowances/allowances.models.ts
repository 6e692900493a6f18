import {
  dayFromToday,
  dayLabel,
  type ExpiryInput,
  endOfLocalDay,
  expiryProblem,
  lastValidDay,
  latestExpiry,
} from '../lib/expiry.models';
import { localDate } from '../lib/periods.models';
import { fail, ok, type Result } from '../lib/result';

// An allowance rule's expiry, as a rule: a number of days means each period's tokens expire that long
// after the period starts (the end of that local day) instead of rolling over; a date means the rule
// issues nothing for a period starting after that day, and every token it issued expires at the end of
// that day at the latest. Either way nothing carries over by a rollover cap (which would outlive it),
// so a cap other than 0 with an end date, or any cap with a number of days, is refused. Pure.

/** What a rule stores of its expiry: at most one of the two. */
export interface AllowanceExpiry {
  expiresAfterDays: number | null;
  /** `YYYY-MM-DD`. */
  endsOn: string | null;
}

export type AllowanceExpiryFailure = 'expiry_with_rollover' | 'expiry_past' | 'expiry_too_far';

/**
 * The expiry of a rule as typed (`for 90d`, `expires 2026-12-31`, a date-time, whose day in the
 * organisation's zone is taken), checked against the rollover cap and the clock (an end date in the
 * past, or more than five years ahead, in the organisation's zone, is refused).
 */
export function allowanceExpiryOf(
  expiry: ExpiryInput | undefined,
  options: { rolloverCapTokens: bigint | null; now: Date; timeZone: string },
): Result<AllowanceExpiry, AllowanceExpiryFailure> {
  if (!expiry || expiry.kind === 'never') return ok({ expiresAfterDays: null, endsOn: null });
  if (expiry.kind === 'duration') {
    if (options.rolloverCapTokens !== null) return fail('expiry_with_rollover');
    return ok({ expiresAfterDays: expiry.days, endsOn: null });
  }
  if (options.rolloverCapTokens !== null && options.rolloverCapTokens > 0n) return fail('expiry_with_rollover');
  const endsOn =
    expiry.kind === 'instant'
      ? localDate(new Date(expiry.at.getTime() - 1), options.timeZone)
      : `${expiry.year}-${String(expiry.month).padStart(2, '0')}-${String(expiry.day).padStart(2, '0')}`;
  const problem = expiryProblem(endOfDay(endsOn, options.timeZone), options);
  if (problem === 'expiry_past')
    return fail('expiry_past', { day: endsOn, example: dayFromToday({ ...options, days: 90 }) });
  if (problem === 'expiry_too_far')
    return fail('expiry_too_far', { day: endsOn, latest: lastValidDay(latestExpiry(options), options.timeZone) });
  return ok({ expiresAfterDays: null, endsOn });
}

function endOfDay(day: string, timeZone: string): Date {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  return endOfLocalDay(timeZone, { year, month, day: date });
}

/**
 * The lot one period's allowance creates, for a member in `timeZone` whose period runs [start, end):
 * `issue` false when the rule has ended before that period; otherwise the lot's expiry (all its remains
 * expire then, nothing rolls over), or none for the ordinary allowance lot (expiring at its period's end,
 * the rollover cap carried). With an end date and `rollover 0`, the earlier of the period's end and the
 * end date.
 */
export function allowanceLotTerms(
  rule: AllowanceExpiry & { rolloverCapTokens: bigint | null },
  period: { start: Date; end?: Date; timeZone: string },
): { issue: false } | { issue: true; expiresAt?: Date } {
  const startDay = localDate(period.start, period.timeZone);
  if (rule.endsOn !== null) {
    if (startDay > rule.endsOn) return { issue: false };
    const last = endOfDay(rule.endsOn, period.timeZone);
    const periodFirst = rule.rolloverCapTokens === 0n && period.end && period.end.getTime() < last.getTime();
    return { issue: true, expiresAt: periodFirst ? period.end : last };
  }
  if (rule.expiresAfterDays !== null) {
    const [year, month, day] = startDay.split('-').map(Number) as [number, number, number];
    return {
      issue: true,
      expiresAt: endOfLocalDay(period.timeZone, { year, month, day: day + rule.expiresAfterDays }),
    };
  }
  return { issue: true };
}

/** How a rule's expiry reads in a list or a reply: `tokens expire 90 days after each period starts`. */
export function describeAllowanceExpiry(rule: AllowanceExpiry): string | undefined {
  if (rule.expiresAfterDays !== null) {
    return `its tokens expire ${rule.expiresAfterDays} day${rule.expiresAfterDays === 1 ? '' : 's'} after each period starts`;
  }
  if (rule.endsOn !== null) return `it ends on ${dayLabel(rule.endsOn)}, when its tokens expire`;
  return undefined;
}
