import { sql } from 'drizzle-orm';
import { type Orm, queryRows } from '../db/client';

// Usage over time, per local day and per model or category, for charts: an organisation's from
// usage_org_daily_rollups (kept by triggers, migrations/0007), some members' from usage_daily_rollups.

/** Bound on the rows of one series read: 92 days of 200 models or categories. */
export const usageHistoryRowsMax = 92 * 200;

export type UsageDimension = 'model' | 'category';

export interface DailyUsageRow {
  /** Organisation-local day, YYYY-MM-DD. */
  day: string;
  /** The model or the category, by the dimension asked for. */
  key: string;
  events: bigint;
  tokens: bigint;
  value: bigint;
  costMicros: bigint;
}

const dimensionColumn = { model: sql.raw('model'), category: sql.raw('category') } as const;

function toRows(rows: Record<string, string>[]): DailyUsageRow[] {
  return rows.map((row) => ({
    day: row.day!,
    key: row.key!,
    events: BigInt(row.events!),
    tokens: BigInt(row.tokens!),
    value: BigInt(row.value!),
    costMicros: BigInt(row.cost_micros!),
  }));
}

/** The whole organisation's usage per local day in [start, end) and per model or category. */
export async function organisationDailyUsage(
  orm: Orm,
  input: { orgId: bigint; start: string; end: string; by: UsageDimension },
): Promise<DailyUsageRow[]> {
  const key = dimensionColumn[input.by];
  return toRows(
    await queryRows<Record<string, string>>(
      orm,
      sql`select day::text as day, ${key} as key, sum(events)::text as events, sum(tokens)::text as tokens,
                 sum(value)::text as value, sum(cost_micros)::text as cost_micros
            from usage_org_daily_rollups
           where org_id = ${input.orgId.toString()}::bigint and day >= ${input.start}::date and day < ${input.end}::date
           group by day, ${key}
          having sum(events) <> 0
           order by day, ${key}
           limit ${usageHistoryRowsMax}`,
    ),
  );
}

/** The usage of some members together, per local day in [start, end) and per model or category. */
export async function membersDailyUsage(
  orm: Orm,
  input: { orgId: bigint; memberIds: bigint[]; start: string; end: string; by: UsageDimension },
): Promise<DailyUsageRow[]> {
  if (input.memberIds.length === 0) return [];
  const key = dimensionColumn[input.by];
  return toRows(
    await queryRows<Record<string, string>>(
      orm,
      sql`select day::text as day, ${key} as key, sum(events)::text as events, sum(tokens)::text as tokens,
                 sum(value)::text as value, sum(cost_micros)::text as cost_micros
            from usage_daily_rollups
           where org_id = ${input.orgId.toString()}::bigint
             and member_id = any(${`{${input.memberIds.join(',')}}`}::bigint[])
             and day >= ${input.start}::date and day < ${input.end}::date
           group by day, ${key}
           order by day, ${key}
           limit ${usageHistoryRowsMax}`,
    ),
  );
}

export interface MemberUsageTotals {
  events: bigint;
  tokens: bigint;
  value: bigint;
  costMicros: bigint;
}

/** Each member's usage over local days [start, end); members without usage are absent. */
export async function membersUsageTotals(
  orm: Orm,
  input: { orgId: bigint; memberIds: bigint[]; start: string; end: string },
): Promise<Map<bigint, MemberUsageTotals>> {
  if (input.memberIds.length === 0) return new Map();
  const rows = await queryRows<Record<string, string>>(
    orm,
    sql`select member_id::text as member_id, sum(events)::text as events, sum(tokens)::text as tokens,
               sum(value)::text as value, sum(cost_micros)::text as cost_micros
          from usage_daily_rollups
         where org_id = ${input.orgId.toString()}::bigint
           and member_id = any(${`{${input.memberIds.join(',')}}`}::bigint[])
           and day >= ${input.start}::date and day < ${input.end}::date
         group by member_id`,
  );
  return new Map(
    rows.map((row) => [
      BigInt(row.member_id!),
      {
        events: BigInt(row.events!),
        tokens: BigInt(row.tokens!),
        value: BigInt(row.value!),
        costMicros: BigInt(row.cost_micros!),
      },
    ]),
  );
}

export interface UsageExportRow {
  memberId: bigint;
  day: string;
  model: string;
  category: string;
  events: bigint;
  inputTokens: bigint;
  outputTokens: bigint;
  tokens: bigint;
  value: bigint;
  costMicros: bigint;
}

/** Where a page of the usage export ended: the next page starts after this row's key. */
export interface UsageExportCursor {
  memberId: bigint;
  day: string;
  model: string;
  category: string;
}

/**
 * The daily rollups of local days [start, end), in their key's order (member, day, model, category),
 * `limit` rows after `after`: a usage export reads the table a page at a time by its primary key.
 */
export async function listDailyUsageForExport(
  orm: Orm,
  input: { orgId: bigint; start: string; end: string; after?: UsageExportCursor; limit: number },
): Promise<UsageExportRow[]> {
  const after = input.after;
  const rows = await queryRows<Record<string, string>>(
    orm,
    sql`select member_id::text as member_id, day::text as day, model, category, events::text as events,
               input_tokens::text as input_tokens, output_tokens::text as output_tokens, tokens::text as tokens,
               value::text as value, cost_micros::text as cost_micros
          from usage_daily_rollups
         where org_id = ${input.orgId.toString()}::bigint and day >= ${input.start}::date and day < ${input.end}::date
           ${
             after
               ? sql`and (member_id, day, model, category) >
                       (${after.memberId.toString()}::bigint, ${after.day}::date, ${after.model}, ${after.category})`
               : sql``
           }
         order by member_id, day, model, category
         limit ${input.limit}`,
  );
  return rows.map((row) => ({
    memberId: BigInt(row.member_id!),
    day: row.day!,
    model: row.model!,
    category: row.category!,
    events: BigInt(row.events!),
    inputTokens: BigInt(row.input_tokens!),
    outputTokens: BigInt(row.output_tokens!),
    tokens: BigInt(row.tokens!),
    value: BigInt(row.value!),
    costMicros: BigInt(row.cost_micros!),
  }));
}
