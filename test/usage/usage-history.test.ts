import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client';
import { auditLedger } from '../../src/ledger/ledger.usecases';
import { ingestUsage } from '../../src/usage/usage.usecases';
import { daysEndingOn, otherSeriesKey, shapeHistory } from '../../src/usage/usage-history.models';
import type { DailyUsageRow } from '../../src/usage/usage-history.repository';
import { getUsageHistory } from '../../src/usage/usage-history.usecases';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeMember, makeOrganisation, uniqueKey } from '../support/fixtures';
import { event, fund } from './support';

// Usage over time for the dashboard's charts: the organisation's daily rollups (kept by triggers on the
// members' rollups, migrations/0007) always equal the sum of its members' rows, and the history a chart
// reads has a point for every day of the window.

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => tdb.close());

/** A small seeded generator (mulberry32), so a failing run can be repeated from its seed. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

async function organisationMismatches(orgId: bigint) {
  return queryRows<Record<string, string>>(
    tdb.db.orm,
    sql`with members_sum as (
          select day, model, category, sum(events) as events, sum(input_tokens) as input_tokens,
                 sum(output_tokens) as output_tokens, sum(tokens) as tokens, sum(value) as value,
                 sum(cost_micros) as cost_micros
            from usage_daily_rollups where org_id = ${orgId.toString()}::bigint group by day, model, category
        ), organisation as (
          select day, model, category, events, input_tokens, output_tokens, tokens, value, cost_micros
            from usage_org_daily_rollups where org_id = ${orgId.toString()}::bigint
             -- A key whose member rows were all deleted keeps a row of zeros.
             and (events, input_tokens, output_tokens, tokens, value, cost_micros) <> (0, 0, 0, 0, 0, 0)
        )
        (select 'members' as side, * from members_sum except select 'members', * from organisation)
        union all
        (select 'organisation', * from organisation except select 'organisation', * from members_sum)`,
  );
}

describe('the organisation’s daily rollups', () => {
  it('equal the sum of the members’ rollups after randomised batches, duplicates and conflicts included', async () => {
    const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
    const next = random(seed);
    const ctx = createTestCtx(tdb.db);
    ctx.clock.set('2026-03-31T12:00:00Z');
    const org = await makeOrganisation(ctx);
    const people = await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        makeMember(ctx, org.id, { name: `P${index}`, email: `p${index}-${uniqueKey()}@example.com` }),
      ),
    );
    await fund(
      ctx,
      org.id,
      people.map((person) => person.id),
      10_000_000n,
    );
    const sent: ReturnType<typeof event>[] = [];
    for (let batch = 0; batch < 12; batch++) {
      const events = Array.from({ length: 1 + Math.floor(next() * 60) }, () => {
        // One in eight resends an earlier event as it was (a duplicate).
        if (sent.length > 0 && next() < 0.125) return sent[Math.floor(next() * sent.length)]!;
        const sentEvent = event({
          user: people[Math.floor(next() * people.length)]!.email!,
          time: new Date(Date.parse('2026-03-01T00:00:00Z') + Math.floor(next() * 30 * 86_400_000)).toISOString(),
          model: ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4-5'][Math.floor(next() * 3)]!,
          category: ['code', 'review', 'chat'][Math.floor(next() * 3)]!,
          input_tokens: 1 + Math.floor(next() * 5_000),
          output_tokens: Math.floor(next() * 2_000),
        });
        sent.push(sentEvent);
        return sentEvent;
      });
      const result = await ingestUsage(ctx, { orgId: org.id, events });
      expect(result.ok, `seed ${seed}`).toBe(true);
    }
    expect(await organisationMismatches(org.id), `seed ${seed}`).toEqual([]);
    expect(await auditLedger(ctx, { orgId: org.id }), `seed ${seed}`).toEqual([]);
  });

  it('follow an update and a deletion of member rows too (the triggers’ other paths)', async () => {
    const ctx = createTestCtx(tdb.db);
    ctx.clock.set('2026-03-31T12:00:00Z');
    const org = await makeOrganisation(ctx);
    const ana = await makeMember(ctx, org.id, { name: 'Ana', email: `ana-${uniqueKey()}@example.com` });
    await fund(ctx, org.id, [ana.id], 1_000_000n);
    await ingestUsage(ctx, {
      orgId: org.id,
      events: [
        event({ user: ana.email!, time: '2026-03-30T10:00:00Z' }),
        event({ user: ana.email!, time: '2026-03-29T10:00:00Z' }),
      ],
    });
    await tdb.db.orm.execute(
      sql`update usage_daily_rollups set tokens = tokens + 5, events = events + 1 where org_id = ${org.id.toString()}::bigint and day = '2026-03-30'`,
    );
    await tdb.db.orm.execute(
      sql`delete from usage_daily_rollups where org_id = ${org.id.toString()}::bigint and day = '2026-03-29'`,
    );
    expect(await organisationMismatches(org.id)).toEqual([]);
    const [row] = await queryRows<{ tokens: string; events: string }>(
      tdb.db.orm,
      sql`select sum(tokens)::text as tokens, sum(events)::text as events from usage_org_daily_rollups
           where org_id = ${org.id.toString()}::bigint`,
    );
    expect(row).toEqual({ tokens: '1505', events: '2' });
  });
});

describe('usage history for a chart', () => {
  it('has one point per local day of the window, zero where nothing was used, today included', async () => {
    const ctx = createTestCtx(tdb.db);
    ctx.clock.set('2026-03-31T23:30:00Z');
    const org = await makeOrganisation(ctx);
    const ana = await makeMember(ctx, org.id, { name: 'Ana', email: `ana-${uniqueKey()}@example.com` });
    const ben = await makeMember(ctx, org.id, { name: 'Ben', email: `ben-${uniqueKey()}@example.com` });
    await fund(ctx, org.id, [ana.id, ben.id], 1_000_000n);
    await ingestUsage(ctx, {
      orgId: org.id,
      events: [
        event({ user: ana.email!, time: '2026-03-31T23:00:00Z', input_tokens: 100, output_tokens: 0 }),
        event({ user: ana.email!, time: '2026-03-02T00:00:00Z', input_tokens: 10, output_tokens: 0 }),
        event({ user: ana.email!, time: '2026-03-01T23:59:59Z', input_tokens: 1, output_tokens: 0 }),
        event({
          user: ben.email!,
          time: '2026-03-31T08:00:00Z',
          model: 'gpt-4o-mini',
          input_tokens: 7,
          output_tokens: 0,
        }),
      ],
    });
    const mine = await getUsageHistory(ctx, {
      orgId: org.id,
      scope: { kind: 'members', memberIds: [ana.id] },
      days: 30,
      by: 'model',
    });
    expect(mine.ok).toBe(true);
    if (!mine.ok) return;
    expect(mine.value.days).toHaveLength(30);
    expect(mine.value.days[0]).toBe('2026-03-02');
    expect(mine.value.days[29]).toBe('2026-03-31');
    expect(mine.value.series.map((series) => series.key)).toEqual(['gpt-4o']);
    expect(mine.value.series[0]!.tokens[0]).toBe(10n);
    expect(mine.value.series[0]!.tokens[29]).toBe(100n);
    expect(mine.value.total.tokens).toBe(110n);
    const everyone = await getUsageHistory(ctx, {
      orgId: org.id,
      scope: { kind: 'organisation' },
      days: 30,
      by: 'model',
    });
    expect(everyone.ok && everyone.value.series.map((series) => [series.key, series.total.tokens])).toEqual([
      ['gpt-4o', 110n],
      ['gpt-4o-mini', 7n],
    ]);
  });

  it('keeps the largest series and sums the rest into one, so a chart stays readable', () => {
    const days = daysEndingOn('2026-01-02', 2);
    expect(days).toEqual(['2026-01-01', '2026-01-02']);
    const row = (key: string, tokens: bigint, day = '2026-01-01'): DailyUsageRow => ({
      day,
      key,
      events: 1n,
      tokens,
      value: tokens,
      costMicros: tokens * 10n,
    });
    const rows = [
      row('a', 50n),
      row('b', 40n),
      row('c', 30n),
      row('d', 20n, '2026-01-02'),
      row('e', 10n),
      row('x', 999n, '2025-12-31'),
    ];
    const shaped = shapeHistory(rows, days, 'model', 3);
    expect(shaped.series.map((series) => [series.key, series.tokens])).toEqual([
      ['a', [50n, 0n]],
      ['b', [40n, 0n]],
      [otherSeriesKey, [40n, 20n]],
    ]);
    expect(shaped.total.tokens).toBe(150n);
  });
});
