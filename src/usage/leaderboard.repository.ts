import { eq, type SQL, sql } from 'drizzle-orm';
import { type Orm, queryRows } from '../db/client';
import { leaderboardTopNMax, usageModelsListMax } from './usage.models';
import { type LeaderboardWindow, leaderboardSettings } from './usage.tables';

// The leaderboard's settings and ranking, and usage per model and per period, read from the rollups.

export type LeaderboardSettings = typeof leaderboardSettings.$inferSelect;

export async function findLeaderboardSettings(orm: Orm, orgId: bigint): Promise<LeaderboardSettings | undefined> {
  const [row] = await orm.select().from(leaderboardSettings).where(eq(leaderboardSettings.orgId, orgId)).limit(1);
  return row;
}

export async function upsertLeaderboardSettings(
  orm: Orm,
  input: { orgId: bigint; at: Date } & Partial<
    Pick<LeaderboardSettings, 'enabled' | 'hideMoney' | 'topN' | 'defaultWindow'>
  >,
): Promise<LeaderboardSettings> {
  const { orgId, at, ...changes } = input;
  const [row] = await orm
    .insert(leaderboardSettings)
    .values({ orgId, updatedAt: at, ...changes })
    .onConflictDoUpdate({ target: leaderboardSettings.orgId, set: { ...changes, updatedAt: at } })
    .returning();
  return row!;
}

/**
 * Each member's totals over one period starting on local day `start` (a week's Monday, a month's or a
 * quarter's first day), as a subquery with columns member_id, events, tokens, value, cost_micros (with
 * `valueOnly`: member_id and value, what ranking needs); with `member` (an SQL expression, such as a
 * lateral reference), that member's row alone. Only months are stored (`usage_period_totals`); a week
 * is summed from the daily rollups (7 days, index `usage_daily_rollups_org_day_idx`; one member's by
 * the primary key) and a quarter from its three months (named by their first days, each a probe of
 * the primary key, also for one member: a range of months would scan every member's).
 */
export function periodTotals(
  orgId: bigint,
  period: LeaderboardWindow,
  start: string,
  options: { valueOnly?: boolean; member?: SQL } = {},
): SQL {
  const org = sql`${orgId.toString()}::bigint`;
  const member = (alias: SQL) =>
    options.member === undefined ? sql`` : sql` and ${alias}.member_id = ${options.member}`;
  const summed = (alias: SQL) =>
    options.valueOnly
      ? sql`sum(${alias}.value)::bigint as value`
      : sql`sum(${alias}.events)::bigint as events, sum(${alias}.tokens)::bigint as tokens,
            sum(${alias}.value)::bigint as value, sum(${alias}.cost_micros)::bigint as cost_micros`;
  switch (period) {
    case 'week':
      return sql`(select r.member_id, ${summed(sql`r`)}
                    from usage_daily_rollups r
                   where r.org_id = ${org} and r.day >= ${start}::date and r.day < ${start}::date + 7${member(sql`r`)}
                   group by r.member_id)`;
    case 'month':
      return sql`(select t.member_id, ${options.valueOnly ? sql`t.value` : sql`t.events, t.tokens, t.value, t.cost_micros`}
                    from usage_period_totals t
                   where t.org_id = ${org} and t.period = 'month' and t.period_start = ${start}::date${member(sql`t`)})`;
    case 'quarter':
      return sql`(select t.member_id, ${summed(sql`t`)}
                    from usage_period_totals t
                   where t.org_id = ${org} and t.period = 'month'
                     and t.period_start in (${start}::date, (${start}::date + interval '1 month')::date,
                                            (${start}::date + interval '2 months')::date)${member(sql`t`)}
                   group by t.member_id)`;
  }
}

export interface LeaderboardRow {
  memberId: bigint;
  displayName: string;
  rank: number;
  position: number;
  events: bigint;
  tokens: bigint;
  value: bigint;
  costMicros: bigint;
}

/**
 * The ranked members of one period: equal value shares a rank (1, 1, 3); within a rank the order
 * is by member id (who joined first), so it never changes between reads. Opted-out, deactivated and bot
 * members are left out before ranking. Returns the first `topN` and, if further down, the asker's own row.
 */
export async function rankPeriod(
  orm: Orm,
  input: { orgId: bigint; period: LeaderboardWindow; periodStart: string; topN: number; askerId: bigint | null },
): Promise<{ rows: LeaderboardRow[]; ranked: number }> {
  const topN = Math.max(1, Math.min(input.topN, leaderboardTopNMax));
  const org = sql`${input.orgId.toString()}::bigint`;
  const asker = input.askerId?.toString() ?? null;
  const rows = await queryRows<{
    member_id: string;
    display_name: string;
    rnk: string;
    pos: string;
    events: string;
    tokens: string;
    value: string;
    cost_micros: string;
    ranked: string;
  }>(
    orm,
    // Ranks on (value, member id) alone: only the value is summed for every member, and names and the
    // other sums are read for the rows shown (text comparisons under a locale collation, or three more
    // sums over a week's rollups, cost more than the ranking itself). The first topN in order are the
    // first topN of all, so their rank and position over themselves are those over all; the asker's,
    // when further down, is counted: 1 + those with more value (rank), and those before in order
    // (position).
    sql`with totals as materialized (
          select t.member_id, t.value
            from ${periodTotals(input.orgId, input.period, input.periodStart, { valueOnly: true })} t
           where not exists (select 1 from members x
                              where x.org_id = ${org} and x.id = t.member_id
                                and (x.leaderboard_opt_out or x.is_bot or not x.is_active))
        ), top as materialized (
          select t.member_id, t.value from totals t order by t.value desc, t.member_id limit ${topN}
        ), shown as (
          select p.member_id, p.value, rank() over (order by p.value desc) as rnk,
                 row_number() over (order by p.value desc, p.member_id) as pos
            from top p
          union all
          select a.member_id, a.value, 1 + (select count(*) from totals x where x.value > a.value),
                 1 + (select count(*) from totals x
                       where x.value > a.value or (x.value = a.value and x.member_id < a.member_id))
            from totals a
           where a.member_id = ${asker}::bigint and not exists (select 1 from top p where p.member_id = a.member_id)
        )
        select s.member_id::text, m.display_name, s.rnk::text, s.pos::text, d.events::text, d.tokens::text,
               s.value::text, d.cost_micros::text, (select count(*) from totals)::text as ranked
          from shown s
          cross join lateral (select x.display_name from members x where x.org_id = ${org} and x.id = s.member_id limit 1) m
          cross join lateral ${periodTotals(input.orgId, input.period, input.periodStart, { member: sql`s.member_id` })} d
         order by s.pos`,
  );
  return {
    ranked: rows.length > 0 ? Number(rows[0]!.ranked) : 0,
    rows: rows.map((row) => ({
      memberId: BigInt(row.member_id),
      displayName: row.display_name,
      rank: Number(row.rnk),
      position: Number(row.pos),
      events: BigInt(row.events),
      tokens: BigInt(row.tokens),
      value: BigInt(row.value),
      costMicros: BigInt(row.cost_micros),
    })),
  };
}

export interface ModelUsageRow {
  model: string;
  events: bigint;
  inputTokens: bigint;
  outputTokens: bigint;
  tokens: bigint;
  value: bigint;
  costMicros: bigint;
}

/** One member's usage per model over local days [start, end), largest cost first. */
export async function usageByModel(
  orm: Orm,
  input: { orgId: bigint; memberId: bigint; start: string; end: string },
): Promise<ModelUsageRow[]> {
  const rows = await queryRows<Record<string, string>>(
    orm,
    sql`select model, sum(events)::text as events, sum(input_tokens)::text as input_tokens,
               sum(output_tokens)::text as output_tokens, sum(tokens)::text as tokens, sum(value)::text as value,
               sum(cost_micros)::text as cost_micros
          from usage_daily_rollups
         where org_id = ${input.orgId.toString()}::bigint and member_id = ${input.memberId.toString()}::bigint
           and day >= ${input.start}::date and day < ${input.end}::date
         group by model
         order by sum(cost_micros) desc, sum(tokens) desc, model
         limit ${usageModelsListMax}`,
  );
  return rows.map((row) => ({
    model: row.model!,
    events: BigInt(row.events!),
    inputTokens: BigInt(row.input_tokens!),
    outputTokens: BigInt(row.output_tokens!),
    tokens: BigInt(row.tokens!),
    value: BigInt(row.value!),
    costMicros: BigInt(row.cost_micros!),
  }));
}

/** The whole organisation's tokens and cost over one period (starting on local day `start`; see periodTotals). */
export async function organisationPeriodTotals(
  orm: Orm,
  input: { orgId: bigint; period: LeaderboardWindow; start: string },
): Promise<{ tokens: bigint; costMicros: bigint }> {
  const [row] = await queryRows<{ tokens: string | null; cost: string | null }>(
    orm,
    sql`select sum(t.tokens)::text as tokens, sum(t.cost_micros)::text as cost
          from ${periodTotals(input.orgId, input.period, input.start)} t`,
  );
  return { tokens: BigInt(row?.tokens ?? 0), costMicros: BigInt(row?.cost ?? 0) };
}
