import { formatTokens } from '../../ledger/amount.models';
import { wallTimeAt } from '../../lib/zoned-time.models';
import { formatMoney } from '../../usage/pricing.models';

// How the dashboard writes numbers and times: tokens with thousands separators, money from integer
// micro-units, times in the organisation's time zone with the zone named. Pure.

export { formatMoney, formatTokens };

const pad = (value: number) => String(value).padStart(2, '0');

/** `2026-11-30 09:05` in `timeZone` (an IANA zone). */
export function formatLocalTime(at: Date, timeZone: string): string {
  const wall = wallTimeAt(at, timeZone);
  return `${wall.year}-${pad(wall.month)}-${pad(wall.day)} ${pad(wall.hour)}:${pad(wall.minute)}`;
}

/** A signed amount as a wallet reads it: `+50,000` or `−1,200`. */
export function formatSignedTokens(amount: bigint, direction: 1 | -1): string {
  return `${direction > 0 ? '+' : '−'}${formatTokens(amount)}`;
}

/** Money as a plain number of dollars for a chart's axis (charts need numbers; tables show formatMoney). */
export function moneyForChart(micros: bigint): number {
  return Number(micros) / 1_000_000;
}
