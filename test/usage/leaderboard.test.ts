import { afterAll, beforeAll, expect, it } from 'vitest';
import { usageBlocks } from '../../src/chat/usage.bridge';
import { createTestClock } from '../../src/lib/clock';
import { operatorActor } from '../../src/lib/context';
import { createOrganisation } from '../../src/members/organisations.usecases';
import {
  getLeaderboard,
  getUsageByModel,
  setLeaderboardOption,
  setLeaderboardOptOut,
} from '../../src/usage/leaderboard.usecases';
import { leaderboardReply, usageByModelSection } from '../../src/usage/usage.replies';
import { ingestUsage } from '../../src/usage/usage.usecases';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeMember, makeOrganisation, uniqueKey } from '../support/fixtures';
import { event, fund, messageText } from './support';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => tdb.close());

// The clock says Monday 2026-01-05 09:00 UTC: this week started today, this month on the 1st, this quarter on January 1st.
async function setup() {
  const ctx = createTestCtx(tdb.db);
  const org = await makeOrganisation(ctx);
  const person = async (name: string) =>
    makeMember(ctx, org.id, { name, email: `${name.toLowerCase()}-${uniqueKey()}@example.com` });
  // Created one after the other: within a tie, the member who joined first is listed first.
  const people: Awaited<ReturnType<typeof person>>[] = [];
  for (const name of ['Alice', 'Bob', 'Carol', 'Dan', 'Erin']) people.push(await person(name));
  const [alice, bob, carol, dan, erin] = people;
  const at = (time: string, user: { email: string | null }, tokens: number) =>
    event({ user: user.email!, time, model: 'gpt-4o', input_tokens: tokens, output_tokens: 0, category: 'code' });
  const ingested = await ingestUsage(ctx, {
    orgId: org.id,
    events: [
      at('2026-01-05T08:00:00Z', bob!, 3000),
      at('2026-01-05T07:00:00Z', alice!, 1000),
      at('2026-01-05T08:30:00Z', alice!, 2000),
      at('2026-01-05T06:00:00Z', carol!, 1000),
      at('2026-01-02T10:00:00Z', dan!, 50_000),
      at('2025-12-30T10:00:00Z', carol!, 90_000),
      at('2026-01-05T05:00:00Z', erin!, 99_000),
    ],
  });
  if (!ingested.ok || ingested.value.accepted !== 7) throw new Error('ingest');
  await setLeaderboardOptOut(ctx, { orgId: org.id, memberId: erin!.id, optOut: true, platform: 'slack' });
  return { ctx, org, alice: alice!, bob: bob!, carol: carol!, dan: dan!, erin: erin! };
}

it('ranks this week by value, equal value sharing a rank (listed by who joined first), with money and value per money', async () => {
  const { ctx, org, alice, bob, carol } = await setup();
  const board = await getLeaderboard(ctx, { orgId: org.id, askerId: carol.id, window: 'week' });
  expect(board.ok).toBe(true);
  if (!board.ok) return;
  expect(board.value.period).toEqual({ start: '2026-01-05', end: '2026-01-12' });
  expect(board.value.entries.map((entry) => [entry.displayName, entry.rank, entry.value])).toEqual([
    ['Alice', 1, 3000n],
    ['Bob', 1, 3000n],
    ['Carol', 3, 1000n],
  ]);
  // gpt-4o input at $2.50 per million: 3000 tokens cost 7,500 micro-dollars; 3000 value / $0.0075 = 400,000 per dollar.
  expect(board.value.entries[0]).toMatchObject({
    memberId: alice.id,
    tokens: 3000n,
    costMicros: 7500n,
    valuePerMoney: 400_000n,
  });
  expect(board.value.entries[1]!.memberId).toBe(bob.id);
  expect(board.value.asker).toMatchObject({ state: 'ranked', entry: { rank: 3 } });
  expect(board.value.ranked).toBe(3);
  const reply = leaderboardReply(board.value);
  expect(reply.summary).toContain('Alice');
  expect(messageText(reply)).toContain('value per $');
});

it('the month and the quarter take in earlier days of the period, and nothing before it', async () => {
  const { ctx, org } = await setup();
  const month = await getLeaderboard(ctx, { orgId: org.id, askerId: null, window: 'month' });
  const quarter = await getLeaderboard(ctx, { orgId: org.id, askerId: null, window: 'quarter' });
  for (const board of [month, quarter]) {
    expect(board.ok && board.value.entries.map((entry) => [entry.displayName, entry.rank])).toEqual([
      ['Dan', 1],
      ['Alice', 2],
      ['Bob', 2],
      ['Carol', 4],
    ]);
  }
  expect(quarter.ok && quarter.value.period).toEqual({ start: '2026-01-01', end: '2026-04-01' });
  // The default window is the week; an unknown one is refused with what to type.
  const fallback = await getLeaderboard(ctx, { orgId: org.id, askerId: null });
  expect(fallback.ok && fallback.value.window).toBe('week');
  expect(await getLeaderboard(ctx, { orgId: org.id, askerId: null, window: 'year' })).toMatchObject({
    ok: false,
    failure: 'window_invalid',
  });
});

it('a week across two months and a quarter of three months add up exactly the days they hold', async () => {
  // Wednesday 2026-03-04: this week began on Monday March 2nd, this quarter on January 1st.
  const ctx = createTestCtx(tdb.db, createTestClock('2026-03-04T12:00:00Z'));
  const org = await makeOrganisation(ctx);
  const ana = await makeMember(ctx, org.id, { name: 'Ana', email: `ana-${uniqueKey()}@example.com` });
  const ben = await makeMember(ctx, org.id, { name: 'Ben', email: `ben-${uniqueKey()}@example.com` });
  const at = (time: string, user: { email: string | null }, tokens: number) =>
    event({ user: user.email!, time, model: 'gpt-4o', input_tokens: tokens, output_tokens: 0, category: 'code' });
  const ingested = await ingestUsage(ctx, {
    orgId: org.id,
    events: [
      at('2025-12-31T23:00:00Z', ana, 70_000), // the quarter before: in no board
      at('2026-01-15T10:00:00Z', ana, 1_000), // January
      at('2026-02-27T10:00:00Z', ben, 5_000), // February, the Friday before this week
      at('2026-03-01T10:00:00Z', ben, 400), // Sunday: last week, this month
      at('2026-03-02T00:30:00Z', ana, 300), // Monday: this week
      at('2026-03-04T11:00:00Z', ben, 20), // today
    ],
  });
  expect(ingested.ok && ingested.value.accepted).toBe(6);
  const tokens = async (window: 'week' | 'month' | 'quarter') => {
    const board = await getLeaderboard(ctx, { orgId: org.id, askerId: null, window });
    if (!board.ok) throw new Error(board.failure);
    return board.value.entries.map((entry) => [entry.displayName, entry.tokens]);
  };
  expect(await tokens('week')).toEqual([
    ['Ana', 300n],
    ['Ben', 20n],
  ]);
  expect(await tokens('month')).toEqual([
    ['Ben', 420n],
    ['Ana', 300n],
  ]);
  expect(await tokens('quarter')).toEqual([
    ['Ben', 5_420n],
    ['Ana', 1_300n],
  ]);
});

it('leaves out members who opted out, and tells them so; opting back in restores them', async () => {
  const { ctx, org, erin } = await setup();
  const board = await getLeaderboard(ctx, { orgId: org.id, askerId: erin.id, window: 'week' });
  expect(board.ok && board.value.entries.some((entry) => entry.memberId === erin.id)).toBe(false);
  expect(board.ok && board.value.asker).toEqual({ state: 'opted_out' });
  await setLeaderboardOptOut(ctx, { orgId: org.id, memberId: erin.id, optOut: false, platform: 'slack' });
  const back = await getLeaderboard(ctx, { orgId: org.id, askerId: erin.id, window: 'week' });
  expect(back.ok && back.value.entries[0]).toMatchObject({ memberId: erin.id, rank: 1 });
});

it('honours top N, hidden money and an admin turning the leaderboard off', async () => {
  const { ctx, org, carol, alice } = await setup();
  const member = { kind: 'member', memberId: alice.id, platform: 'slack' } as const;
  expect(await setLeaderboardOption(ctx, { orgId: org.id, actor: member, option: { kind: 'off' } })).toMatchObject({
    ok: false,
    failure: 'not_an_admin',
  });
  expect(
    await setLeaderboardOption(ctx, { orgId: org.id, actor: operatorActor, option: { kind: 'top', n: 0 } }),
  ).toMatchObject({
    ok: false,
    failure: 'top_invalid',
  });
  await setLeaderboardOption(ctx, { orgId: org.id, actor: operatorActor, option: { kind: 'top', n: 2 } });
  await setLeaderboardOption(ctx, { orgId: org.id, actor: operatorActor, option: { kind: 'hide-money' } });
  const board = await getLeaderboard(ctx, { orgId: org.id, askerId: carol.id, window: 'week' });
  expect(board.ok).toBe(true);
  if (!board.ok) return;
  expect(board.value.entries.map((entry) => entry.displayName)).toEqual(['Alice', 'Bob']);
  expect(board.value.entries.every((entry) => entry.costMicros === null && entry.valuePerMoney === null)).toBe(true);
  // Carol is below the cut and still sees her own rank, without money.
  expect(board.value.asker).toMatchObject({ state: 'ranked', entry: { rank: 3, costMicros: null } });
  expect(messageText(leaderboardReply(board.value))).not.toContain('$');
  await setLeaderboardOption(ctx, { orgId: org.id, actor: operatorActor, option: { kind: 'off' } });
  expect(await getLeaderboard(ctx, { orgId: org.id, askerId: carol.id })).toEqual({
    ok: false,
    failure: 'leaderboard_disabled',
  });
  await setLeaderboardOption(ctx, { orgId: org.id, actor: operatorActor, option: { kind: 'on' } });
  expect((await getLeaderboard(ctx, { orgId: org.id, askerId: carol.id })).ok).toBe(true);
});

it('counts periods in the organisation time zone', async () => {
  const ctx = createTestCtx(tdb.db);
  const created = await createOrganisation(ctx, {
    slug: `nz-${uniqueKey()}`.slice(0, 40),
    timeZone: 'Pacific/Auckland',
    actor: operatorActor,
  });
  if (!created.ok) throw new Error(created.failure);
  const org = created.value;
  const kiri = await makeMember(ctx, org.id, { name: 'Kiri', email: `kiri-${uniqueKey()}@example.com` });
  // Sunday 12:00 UTC is Monday 01:00 in Auckland: this week there, last week in UTC.
  await ingestUsage(ctx, {
    orgId: org.id,
    events: [event({ user: kiri.email!, time: '2026-01-04T12:00:00Z', input_tokens: 10 })],
  });
  const board = await getLeaderboard(ctx, { orgId: org.id, askerId: kiri.id, window: 'week' });
  expect(board.ok && board.value.period.start).toBe('2026-01-05');
  expect(board.ok && board.value.entries.map((entry) => entry.displayName)).toEqual(['Kiri']);
});

it("shows a member this month's usage by model with money, for /balance", async () => {
  const { ctx, org, carol } = await setup();
  await ingestUsage(ctx, {
    orgId: org.id,
    events: [event({ user: carol.email!, model: 'gpt-4o-mini', input_tokens: 1_000_000, output_tokens: 0 })],
  });
  const usage = await getUsageByModel(ctx, { orgId: org.id, memberId: carol.id });
  expect(usage.ok && usage.value.models.map((row) => [row.model, row.tokens, row.costMicros])).toEqual([
    ['gpt-4o-mini', 1_000_000n, 150_000n],
    ['gpt-4o', 1000n, 2500n],
  ]);
  expect(usage.ok && usage.value.total).toMatchObject({ tokens: 1_001_000n, costMicros: 152_500n });
  const section = messageText(usage.ok ? usageByModelSection(usage.value) : []);
  expect(section).toContain('$0.15');
});

it('/balance shows what the balance is worth at the member’s own models this month, and overage as such', async () => {
  const { ctx, org, bob, carol } = await setup();
  await fund(ctx, org.id, [bob.id], 1_000_000n);
  // Bob used 3,000 gpt-4o tokens ($2.50 per million): 997,000 left are worth about $2.49.
  expect(messageText(await usageBlocks(ctx, { orgId: org.id, memberId: bob.id }))).toContain(
    'Worth about $2.49 at your models this month.',
  );
  // Carol was never funded: her wallet is in overage by what she used.
  await ingestUsage(ctx, {
    orgId: org.id,
    events: [event({ user: carol.email!, model: 'gpt-4o-mini', input_tokens: 1_000_000, output_tokens: 0 })],
  });
  expect(messageText(await usageBlocks(ctx, { orgId: org.id, memberId: carol.id }))).toMatch(
    /Overage worth about \$0\.\d+ at your models this month\./,
  );
});

it('ranks as counting member by member would: random usage with ties, any top N, every asker, each window', async () => {
  const seed = Number(process.env.USAGE_SEED ?? Date.now() % 100_000);
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
  const ctx = createTestCtx(tdb.db);
  const org = await makeOrganisation(ctx);
  const people = [];
  for (let i = 0; i < 14; i++)
    people.push(await makeMember(ctx, org.id, { email: `p${i}-${uniqueKey()}@example.com` }));
  const bot = await makeMember(ctx, org.id, { email: `bot-${uniqueKey()}@example.com`, isBot: true });
  // Few distinct amounts, so equal values (and equal values across the cut) are common; events from
  // the quarter before, this quarter, this month and this week; two members use nothing.
  const times = [
    '2025-12-31T12:00:00Z',
    '2026-01-01T00:00:00Z',
    '2026-01-04T23:59:00Z',
    '2026-01-05T00:00:00Z',
    '2026-01-05T08:59:00Z',
  ];
  const events = [];
  for (let i = 0; i < 60; i++) {
    const user = [...people.slice(0, 12), bot][Math.floor(next() * 13)]!;
    events.push(
      event({
        user: user.email!,
        time: times[Math.floor(next() * times.length)]!,
        input_tokens: [100, 200, 300][Math.floor(next() * 3)]!,
        output_tokens: 0,
        model: next() < 0.5 ? 'gpt-4o' : 'claude-sonnet-4-5',
        category: 'code',
      }),
    );
  }
  const ingested = await ingestUsage(ctx, { orgId: org.id, events });
  expect(ingested.ok && ingested.value.accepted).toBe(60);
  const optedOut = people[Math.floor(next() * 12)]!;
  await setLeaderboardOptOut(ctx, { orgId: org.id, memberId: optedOut.id, optOut: true, platform: 'slack' });
  const counted = new Set([optedOut.id, bot.id]);
  for (const window of ['week', 'month', 'quarter'] as const) {
    for (const topN of [1, 3, 50]) {
      await setLeaderboardOption(ctx, { orgId: org.id, actor: operatorActor, option: { kind: 'top', n: topN } });
      for (const asker of [...people, bot]) {
        const board = await getLeaderboard(ctx, { orgId: org.id, askerId: asker.id, window });
        if (!board.ok) throw new Error(board.failure);
        // The reference: each member's events of the period, one by one, ranked by value then by who joined first.
        const { start, end } = board.value.period;
        const totals = new Map<bigint, { events: bigint; tokens: bigint; value: bigint; costMicros: bigint }>();
        for (const [index, sent] of events.entries()) {
          const member = [...people, bot].find((person) => person.email === sent.user)!;
          const day = sent.time.slice(0, 10);
          if (counted.has(member.id) || day < start || day >= end) continue;
          const result = ingested.ok ? ingested.value.results[index] : undefined;
          expect(result?.status).toBe('accepted');
          const cost = BigInt(sent.input_tokens) * (sent.model === 'gpt-4o' ? 2_500_000n : 3_000_000n);
          const total = totals.get(member.id) ?? { events: 0n, tokens: 0n, value: 0n, costMicros: 0n };
          totals.set(member.id, {
            events: total.events + 1n,
            tokens: total.tokens + BigInt(sent.input_tokens),
            value: total.value + BigInt(sent.input_tokens),
            costMicros: total.costMicros + (cost + 500_000n) / 1_000_000n,
          });
        }
        const order = [...totals.entries()].sort(([a, x], [b, y]) =>
          x.value !== y.value ? (y.value > x.value ? 1 : -1) : a < b ? -1 : 1,
        );
        const rankOf = (value: bigint) => 1 + order.filter(([, other]) => other.value > value).length;
        const entry = ([memberId, total]: (typeof order)[number]) => ({
          memberId,
          rank: rankOf(total.value),
          ...total,
        });
        const seen = `seed ${seed}, ${window}, top ${topN}, asker ${asker.id}`;
        expect(board.value.ranked, seen).toBe(order.length);
        expect(
          board.value.entries.map(({ memberId, rank, events, tokens, value, costMicros }) => ({
            memberId,
            rank,
            events,
            tokens,
            value,
            costMicros,
          })),
          seen,
        ).toEqual(order.slice(0, topN).map(entry));
        const own = order.find(([memberId]) => memberId === asker.id);
        if (own) expect(board.value.asker, seen).toMatchObject({ state: 'ranked', entry: entry(own) });
        else expect(board.value.asker.state, seen).toBe(asker.id === optedOut.id ? 'opted_out' : 'no_usage');
      }
    }
  }
});
