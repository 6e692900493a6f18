import type postgres from 'postgres';

// The usage generator of the benchmarks (bench:usage's leaderboard, bench:dashboard): `members` members
// and exactly `events` usage events over the local days [start, end), generated directly in SQL as
// daily rollups (members × days × 2 model/category pairs, the event counts summing to `events`, written
// day by day as ingestion writes them), with the monthly totals aggregated from them with the keys
// ingestion uses (weeks and quarters are derived when read). Then ANALYZE.

export interface GeneratedUsage {
  /** Daily rollup rows written. */
  rows: number;
  /** Events they count (exactly `events`). */
  events: number;
}

export async function generateUsage(
  raw: postgres.Sql,
  input: { orgId: bigint; members: number; events: number; start: string; end: string },
): Promise<GeneratedUsage> {
  const org = input.orgId.toString();
  await raw`insert into members (org_id, display_name, email)
            select ${org}::bigint, 'Member ' || g, 'b' || g || '@board.example'
              from generate_series(1, ${input.members}) g`;
  const days = (Date.parse(input.end) - Date.parse(input.start)) / 86_400_000;
  const rowsTotal = input.members * days * 2;
  // Events per rollup row: floor(events / rows), plus one on the first (events mod rows) rows.
  const base = Math.floor(input.events / rowsTotal);
  const extra = input.events - base * rowsTotal;
  await raw`
    insert into usage_daily_rollups (org_id, member_id, day, model, category, events, input_tokens, output_tokens, tokens, value, cost_micros)
    select ${org}::bigint, m.id, d::date, p.model, p.category, e.events,
           e.events * (400 + (m.id % 1000)), e.events * (90 + (m.id % 300)),
           e.events * (490 + (m.id % 1000) + (m.id % 300)),
           (e.events * (490 + (m.id % 1000) + (m.id % 300)) * p.weight) / 1000,
           e.events * (1000 + (m.id * 7) % 5000)
      from (select id, row_number() over (order by id) - 1 as n from members where org_id = ${org}::bigint) m
     cross join generate_series(${input.start}::date, ${input.end}::date - 1, interval '1 day') with ordinality as days(d, day_n)
     cross join (values (0, 'gpt-4o', 'code', 1500), (1, 'claude-sonnet-4-5', 'chat', 1000)) as p(k, model, category, weight)
     cross join lateral (select ${base}::bigint + case when (m.n * ${days} * 2 + (day_n - 1) * 2 + p.k) < ${extra} then 1 else 0 end as events) e
     order by d, m.id, p.k`;
  await raw`
    insert into usage_period_totals (org_id, period, period_start, member_id, events, tokens, value, cost_micros)
    select r.org_id, 'month', date_trunc('month', r.day)::date, r.member_id, sum(r.events), sum(r.tokens), sum(r.value),
           sum(r.cost_micros)
      from usage_daily_rollups r
     where r.org_id = ${org}::bigint
     group by r.org_id, 3, r.member_id`;
  await raw`analyze`;
  const [check] =
    await raw`select count(*)::int as rows, sum(events)::bigint as events from usage_daily_rollups where org_id = ${org}::bigint`;
  return { rows: Number(check?.rows), events: Number(check?.events) };
}
