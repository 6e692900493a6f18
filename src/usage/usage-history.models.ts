import type { DailyUsageRow, UsageDimension } from './usage-history.repository';

// Usage over time shaped for a chart: one point per local day (days without usage count 0), one series
// per model or category, the largest first, with the smallest folded into "other" so a chart stays
// readable. Pure: the days come from the caller's clock and the organisation's time zone.

/** The windows a usage chart offers, in days ending today (organisation-local). */
export const historyWindowsDays = [30, 90] as const;
export type HistoryWindowDays = (typeof historyWindowsDays)[number];

/** Most series drawn; the rest are summed into one series named `otherSeriesKey`. */
export const chartSeriesMax = 6;
export const otherSeriesKey = 'other (the rest)';

export interface UsageTotals {
  events: bigint;
  tokens: bigint;
  value: bigint;
  costMicros: bigint;
}

export interface UsageSeries {
  key: string;
  /** Tokens per day, aligned with UsageHistory.days. */
  tokens: bigint[];
  /** Money per day in micro-units, aligned with UsageHistory.days. */
  costMicros: bigint[];
  total: UsageTotals;
}

export interface UsageHistory {
  by: UsageDimension;
  /** Local days, oldest first. */
  days: string[];
  series: UsageSeries[];
  total: UsageTotals;
}

const zeroTotals = (): UsageTotals => ({ events: 0n, tokens: 0n, value: 0n, costMicros: 0n });

function addTo(totals: UsageTotals, row: UsageTotals): void {
  totals.events += row.events;
  totals.tokens += row.tokens;
  totals.value += row.value;
  totals.costMicros += row.costMicros;
}

/** The `count` local days ending with `today` (YYYY-MM-DD), oldest first. */
export function daysEndingOn(today: string, count: number): string[] {
  const end = Date.parse(`${today}T00:00:00Z`);
  return Array.from({ length: count }, (_, index) =>
    new Date(end - (count - 1 - index) * 86_400_000).toISOString().slice(0, 10),
  );
}

/** The local day after `day` (the exclusive end of a window of days). */
export function dayAfter(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

/**
 * Series per key over `days` from daily rows: keys ranked by tokens (then cost, then name), the first
 * `seriesMax - 1` kept and the rest summed into `otherSeriesKey` (when there are more than `seriesMax`).
 */
export function shapeHistory(
  rows: DailyUsageRow[],
  days: string[],
  by: UsageDimension,
  seriesMax = chartSeriesMax,
): UsageHistory {
  const index = new Map(days.map((day, position) => [day, position]));
  const byKey = new Map<string, UsageSeries>();
  const total = zeroTotals();
  for (const row of rows) {
    const position = index.get(row.day);
    if (position === undefined) continue;
    let series = byKey.get(row.key);
    if (!series) {
      series = { key: row.key, tokens: days.map(() => 0n), costMicros: days.map(() => 0n), total: zeroTotals() };
      byKey.set(row.key, series);
    }
    series.tokens[position]! += row.tokens;
    series.costMicros[position]! += row.costMicros;
    addTo(series.total, row);
    addTo(total, row);
  }
  const ranked = [...byKey.values()].sort(
    (a, b) =>
      compareDescending(a.total.tokens, b.total.tokens) ||
      compareDescending(a.total.costMicros, b.total.costMicros) ||
      a.key.localeCompare(b.key),
  );
  if (ranked.length <= seriesMax) return { by, days, series: ranked, total };
  const kept = ranked.slice(0, seriesMax - 1);
  const other: UsageSeries = {
    key: otherSeriesKey,
    tokens: days.map(() => 0n),
    costMicros: days.map(() => 0n),
    total: zeroTotals(),
  };
  for (const series of ranked.slice(seriesMax - 1)) {
    series.tokens.forEach((tokens, position) => {
      other.tokens[position]! += tokens;
      other.costMicros[position]! += series.costMicros[position]!;
    });
    addTo(other.total, series.total);
  }
  return { by, days, series: [...kept, other], total };
}

function compareDescending(a: bigint, b: bigint): number {
  return a === b ? 0 : a > b ? -1 : 1;
}
