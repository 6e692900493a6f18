import { currentPeriod } from '../lib/periods.models';

// "Near the limit": the one definition, for low-balance alerts (usage/alerts.usecases.ts), the
// managers' note after the weekly digest (digest/digest.usecases.ts) and anything that shows a member
// how close they are. A wallet's limit is what it received this month: tokens given to it by a
// grant, an approved top-up or an allowance (`receivedCodes`), since the first instant of the month
// in the organisation's time zone. A reversal credited back to a wallet undoes an earlier debit; it
// gives nothing new, so it does not raise the limit (src/usage/README.md, "Low-balance alerts").

/** Transfer codes whose credits to a wallet count as "received": tokens given to the member. */
export const receivedCodes = ['grant', 'topup', 'allocate'] as const;

/** Share left (in percent) at or below which the managers' note lists a report (README, "The digest"). */
export const nearLimitPercentLeft = 10;

/** One percent in basis points: thresholds are compared in whole basis points, on bigints. */
const basisPointsPerPercent = 100;

/**
 * True when `balance` is at most `percentLeft` % of `received` (and something was received: with
 * nothing received there is no limit to be near). Exact on integers: balance x 10,000 ≤ received x
 * percent in basis points. `percentLeft` is rounded to a hundredth of a percent.
 * digest.repository's `membersNearLimit` states the same inequality in SQL to bound its scan.
 */
export function isNearLimit(input: { balance: bigint; received: bigint; percentLeft: number }): boolean {
  if (input.received <= 0n) return false;
  const basisPoints = BigInt(Math.round(input.percentLeft * basisPointsPerPercent));
  return input.balance * BigInt(100 * basisPointsPerPercent) <= input.received * basisPoints;
}

/** A low-balance alert: `left_P` at P % or less of what was received, `overage` below zero. */
export type AlertThreshold = `left_${number}` | 'overage';

/**
 * The thresholds a wallet is at or past after a debit, most severe first: `overage` below zero;
 * `left_P` when near the limit at P % (`isNearLimit`; nothing percent-based when it received
 * nothing). The alert log then lets each fire once per period, so a threshold crossed while no DM
 * could be sent (a CSV import at the CLI) is still announced by the next debit.
 */
export function thresholdsReached(input: {
  after: bigint;
  receivedThisPeriod: bigint;
  percents: readonly number[];
}): AlertThreshold[] {
  const reached: AlertThreshold[] = [];
  if (input.after < 0n) reached.push('overage');
  for (const percent of [...input.percents].sort((a, b) => a - b)) {
    if (isNearLimit({ balance: input.after, received: input.receivedThisPeriod, percentLeft: percent }))
      reached.push(`left_${percent}`);
  }
  return reached;
}

/** The alert period of low-balance alerts: the organisation-local month, e.g. "2026-11". */
export function alertPeriod(at: Date, timeZone: string): string {
  return currentPeriod('month', at, timeZone).start.slice(0, 7);
}
