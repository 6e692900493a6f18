import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client';
import { findUsageAccountFor, pickUsageStripe } from '../../src/ledger/ledger.repository';
import { usageStripes } from '../../src/ledger/ledger.tables';
import { auditLedger } from '../../src/ledger/ledger.usecases';
import { operatorActor } from '../../src/lib/context';
import { addMember } from '../../src/members/members.usecases';
import { setPrice, setWeight } from '../../src/usage/prices.usecases';
import { batchDigestEventsMin, hashRawEvent } from '../../src/usage/replay.models';
import { findBatchStart } from '../../src/usage/usage.repository';
import { ingestUsage } from '../../src/usage/usage.usecases';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeMember, makeOrganisation, uniqueKey } from '../support/fixtures';
import { event, fund, usageSnapshot, wallet } from './support';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => tdb.close());

async function setup() {
  const ctx = createTestCtx(tdb.db);
  const org = await makeOrganisation(ctx);
  const ana = await makeMember(ctx, org.id, { name: 'Ana', email: `ana-${uniqueKey()}@example.com` });
  const ben = await makeMember(ctx, org.id, { name: 'Ben', email: `ben-${uniqueKey()}@example.com` });
  await fund(ctx, org.id, [ana.id, ben.id], 1_000_000n);
  return { ctx, org, ana, ben };
}

describe('ingesting usage', () => {
  it('stores, prices, debits and rolls up a batch of valid events in one go', async () => {
    const { ctx, org, ana, ben } = await setup();
    const first = event({
      user: ana.email!,
      model: 'gpt-4o',
      input_tokens: 1_000_000,
      output_tokens: 100_000,
      category: 'code',
    });
    const second = event({ user: ana.email!, model: 'GPT-4o', input_tokens: 2_000, output_tokens: 0 });
    const third = event({
      user: ben.email!.toUpperCase(),
      model: 'gpt-4o-mini',
      input_tokens: 10_000,
      output_tokens: 5_000,
    });
    const result = await ingestUsage(ctx, { orgId: org.id, events: [first, second, third] });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toMatchObject({ accepted: 3, duplicate: 0, rejected: 0, unpricedModels: [] });
    expect(await wallet(ctx, org.id, ana.id)).toBe(1_000_000n - 1_102_000n);
    expect(await wallet(ctx, org.id, ben.id)).toBe(1_000_000n - 15_000n);
    // gpt-4o seed price: $2.50 in, $10 out per million → 2.5 + 1.0 + 0.005 dollars.
    const rollups = await queryRows<{ model: string; events: string; tokens: string; cost_micros: string }>(
      ctx.db.orm,
      sql`select model, events::text, tokens::text, cost_micros::text from usage_daily_rollups
           where org_id = ${org.id.toString()}::bigint and member_id = ${ana.id.toString()}::bigint order by category`,
    );
    expect(rollups).toEqual([
      { model: 'gpt-4o', events: '1', tokens: '1100000', cost_micros: '3500000' },
      { model: 'gpt-4o', events: '1', tokens: '2000', cost_micros: '5000' },
    ]);
    const transfers = await queryRows<{ operation_key: string; amount: string; code: string }>(
      ctx.db.orm,
      sql`select operation_key, amount::text, code from transfers
           where org_id = ${org.id.toString()}::bigint and code = 'usage' order by id`,
    );
    // One usage transfer per member per batch, keyed by the member's first event of the batch.
    expect(transfers).toEqual([
      { operation_key: `usage:${first.id}`, amount: '1102000', code: 'usage' },
      { operation_key: `usage:${third.id}`, amount: '15000', code: 'usage' },
    ]);
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });

  it('rejects each invalid event with its reason and keeps the valid ones', async () => {
    const { ctx, org, ana } = await setup();
    const taken = event({ user: ana.email! });
    await ingestUsage(ctx, { orgId: org.id, events: [taken] });
    const good = event({ user: ana.email!, input_tokens: 7, output_tokens: 3 });
    const cases: [unknown, string][] = [
      ['not an object', 'invalid_event'],
      [{ ...event({ user: ana.email! }), id: undefined }, 'missing_field'],
      [event({ user: ana.email!, id: 'x'.repeat(256) }), 'invalid_id'],
      [event({ user: ana.email!, time: 'yesterday' }), 'invalid_time'],
      [event({ user: ana.email!, time: '1999-12-31T23:00:00Z' }), 'invalid_time'],
      [event({ user: ana.email!, time: '2026-01-05T10:00:00Z' }), 'time_in_future'],
      [event({ user: 'bob' }), 'invalid_user'],
      [event({ user: 'slack:not-an-id' }), 'invalid_user'],
      [{ ...event({ user: ana.email! }), model: undefined }, 'missing_field'],
      [event({ user: ana.email!, model: '' }), 'invalid_model'],
      [event({ user: ana.email!, model: 'gpt 4o; drop table' }), 'invalid_model'],
      [event({ user: ana.email!, input_tokens: -1 }), 'invalid_tokens'],
      [event({ user: ana.email!, input_tokens: 1.5 }), 'invalid_tokens'],
      [event({ user: ana.email!, input_tokens: 2_000_000_000 }), 'invalid_tokens'],
      [event({ user: ana.email!, input_tokens: 0, output_tokens: 0 }), 'no_tokens'],
      [event({ user: ana.email!, category: 'Code Review!' }), 'invalid_category'],
      [event({ user: 'nobody@example.com' }), 'unknown_user'],
      [event({ user: 'slack:U0NOBODY' }), 'unknown_user'],
      [{ ...taken, input_tokens: 999 }, 'id_conflict'],
    ];
    const before = await wallet(ctx, org.id, ana.id);
    const result = await ingestUsage(ctx, { orgId: org.id, events: [...cases.map(([raw]) => raw), good] });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.results.map((r) => (r.status === 'rejected' ? r.reason : r.status))).toEqual([
      ...cases.map(([, reason]) => reason),
      'accepted',
    ]);
    for (const r of result.value.results) if (r.status === 'rejected') expect(r.message.length).toBeGreaterThan(10);
    expect(result.value).toMatchObject({ accepted: 1, rejected: cases.length, duplicate: 0 });
    expect(await wallet(ctx, org.id, ana.id)).toBe(before - 10n);
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });

  it('a replayed batch is all duplicates and changes nothing', async () => {
    const { ctx, org, ana, ben } = await setup();
    const batch = Array.from({ length: 40 }, (_, i) =>
      event({ user: i % 2 ? ana.email! : ben.email!, input_tokens: 100 + i, category: i % 3 ? 'code' : 'chat' }),
    );
    const first = await ingestUsage(ctx, { orgId: org.id, events: batch });
    expect(first.ok && first.value.accepted).toBe(40);
    const before = await usageSnapshot(ctx, org.id);
    const replay = await ingestUsage(ctx, { orgId: org.id, events: batch });
    expect(replay.ok && replay.value).toMatchObject({ accepted: 0, duplicate: 40, rejected: 0, debits: [] });
    // A replay mixed with new events: only the new ones count.
    const mixed = await ingestUsage(ctx, { orgId: org.id, events: [...batch.slice(0, 5), batch[0]] });
    expect(mixed.ok && mixed.value).toMatchObject({ accepted: 0, duplicate: 6 });
    expect(await usageSnapshot(ctx, org.id)).toEqual(before);
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });

  it('only a batch accepted whole is remembered whole: resent after a stranger joins, their event is accepted', async () => {
    const { ctx, org, ana } = await setup();
    const batches = async () =>
      (
        await queryRows<{ events: number }>(
          ctx.db.orm,
          sql`select events from usage_batches where org_id = ${org.id.toString()}::bigint`,
        )
      ).map((row) => row.events);
    const strangerEmail = `cleo-${uniqueKey()}@example.com`;
    // A batch just large enough for a digest, with one event from someone not yet a member.
    const batch = Array.from({ length: batchDigestEventsMin }, (_, i) =>
      event({ user: i === 1 ? strangerEmail : ana.email!, input_tokens: 10 + i }),
    );
    const first = await ingestUsage(ctx, { orgId: org.id, events: batch });
    expect(first.ok && first.value).toMatchObject({ accepted: batchDigestEventsMin - 1, rejected: 1 });
    expect(await batches()).toEqual([]);

    const cleo = await addMember(ctx, {
      orgId: org.id,
      displayName: 'Cleo',
      email: strangerEmail,
      actor: operatorActor,
    });
    if (!cleo.ok) throw new Error(cleo.failure);
    await fund(ctx, org.id, [cleo.value.id], 1_000n);
    const resent = await ingestUsage(ctx, { orgId: org.id, events: batch });
    expect(resent.ok && resent.value.results.map((r) => r.status)).toEqual(
      batch.map((_, i) => (i === 1 ? 'accepted' : 'duplicate')),
    );
    // Now every event of the batch is stored: the batch is remembered, and a third copy is all duplicates.
    expect(await batches()).toEqual([batchDigestEventsMin]);
    const before = await usageSnapshot(ctx, org.id);
    const third = await ingestUsage(ctx, { orgId: org.id, events: batch });
    expect(third.ok && third.value).toMatchObject({
      accepted: 0,
      duplicate: batchDigestEventsMin,
      rejected: 0,
      debits: [],
    });
    expect(third.ok && third.value.results.map((r) => [r.index, r.id])).toEqual(batch.map((e, i) => [i, e.id]));
    expect(await usageSnapshot(ctx, org.id)).toEqual(before);
    // The same events in another order are another request: judged event by event, still duplicates.
    const reordered = await ingestUsage(ctx, { orgId: org.id, events: [...batch].reverse() });
    expect(reordered.ok && reordered.value).toMatchObject({ accepted: 0, duplicate: batchDigestEventsMin });
    expect(await usageSnapshot(ctx, org.id)).toEqual(before);
    // A batch smaller than that is judged event by event and leaves no digest.
    const small = batch.slice(0, batchDigestEventsMin - 1).map((e) => ({ ...e, id: `${e.id}-small` }));
    const smallFirst = await ingestUsage(ctx, { orgId: org.id, events: small });
    expect(smallFirst.ok && smallFirst.value.accepted).toBe(small.length);
    expect(await batches()).toEqual([batchDigestEventsMin]);
    const smallAgain = await ingestUsage(ctx, { orgId: org.id, events: small });
    expect(smallAgain.ok && smallAgain.value).toMatchObject({ accepted: 0, duplicate: small.length });
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });

  it('a replay is recognised whatever its spelling: exact copies, reordered keys or another time format', async () => {
    const { ctx, org, ana } = await setup();
    const original = event({ user: ana.email!, category: 'code' });
    const stored = await ingestUsage(ctx, { orgId: org.id, events: [original] });
    expect(stored.ok && stored.value.accepted).toBe(1);
    // The event keeps the hash of its JSON text, so an exact copy is answered without validating it again.
    const [row] = await queryRows<{ raw_hash: string | null }>(
      ctx.db.orm,
      sql`select raw_hash from usage_events where org_id = ${org.id.toString()}::bigint and event_id = ${original.id}`,
    );
    expect(row?.raw_hash).toBe(hashRawEvent(original));
    const before = await usageSnapshot(ctx, org.id);
    const respelled = {
      output_tokens: original.output_tokens,
      input_tokens: String(original.input_tokens),
      category: 'CODE',
      model: original.model.toUpperCase(),
      user: ana.email!.toUpperCase(),
      time: Date.parse(original.time),
      id: original.id,
    };
    const other = { ...original, input_tokens: original.input_tokens + 1 };
    const result = await ingestUsage(ctx, {
      orgId: org.id,
      events: [other, { ...original }, respelled, other, { ...original, attributes: { note: 'same usage' } }],
    });
    // Each event naming a stored id is judged against the stored event, not against its neighbours.
    expect(result.ok && result.value.results.map((r) => (r.status === 'rejected' ? r.reason : r.status))).toEqual([
      'id_conflict',
      'duplicate',
      'duplicate',
      'id_conflict',
      'duplicate',
    ]);
    expect(await usageSnapshot(ctx, org.id)).toEqual(before);
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });

  it('an id reused with other content is a conflict and changes nothing', async () => {
    const { ctx, org, ana, ben } = await setup();
    const original = event({ user: ana.email! });
    await ingestUsage(ctx, { orgId: org.id, events: [original] });
    const before = await usageSnapshot(ctx, org.id);
    const reused = [
      { ...original, output_tokens: original.output_tokens + 1 },
      { ...original, user: ben.email! },
      { ...original, model: 'gpt-4o-mini' },
      { ...original, time: '2026-01-05T07:00:00Z' },
    ];
    const result = await ingestUsage(ctx, { orgId: org.id, events: reused });
    expect(result.ok && result.value.results.map((r) => r.status === 'rejected' && r.reason)).toEqual([
      'id_conflict',
      'id_conflict',
      'id_conflict',
      'id_conflict',
    ]);
    // Inside one batch too: the first wins, an identical repeat is a duplicate, another body a conflict.
    const fresh = event({ user: ana.email! });
    const inBatch = await ingestUsage(ctx, { orgId: org.id, events: [fresh, fresh, { ...fresh, input_tokens: 1 }] });
    expect(inBatch.ok && inBatch.value.results.map((r) => (r.status === 'rejected' ? r.reason : r.status))).toEqual([
      'accepted',
      'duplicate',
      'id_conflict',
    ]);
    const after = await usageSnapshot(ctx, org.id);
    expect(Number(after.events)).toBe(Number(before.events) + 1);
  });

  it('prices an event with the price in force at its own time, after a price change', async () => {
    const { ctx, org, ana } = await setup();
    const admin = { kind: 'operator', platform: 'cli' } as const;
    // No seed for this model: before any price it is unpriced (cost 0, and said so).
    expect(
      (
        await setPrice(ctx, {
          orgId: org.id,
          actor: admin,
          model: 'acme-1',
          input: '1.00',
          output: '2',
          effectiveFrom: new Date('2026-01-02T00:00:00Z'),
        })
      ).ok,
    ).toBe(true);
    expect(
      (
        await setPrice(ctx, {
          orgId: org.id,
          actor: admin,
          model: 'acme-1',
          input: '3',
          output: '4.5',
          effectiveFrom: new Date('2026-01-04T00:00:00Z'),
        })
      ).ok,
    ).toBe(true);
    const m = 1_000_000;
    const events = [
      event({ user: ana.email!, model: 'acme-1', time: '2026-01-01T12:00:00Z', input_tokens: m, output_tokens: m }),
      event({ user: ana.email!, model: 'acme-1', time: '2026-01-03T12:00:00Z', input_tokens: m, output_tokens: m }),
      event({ user: ana.email!, model: 'acme-1', time: '2026-01-04T00:00:00Z', input_tokens: m, output_tokens: m }),
      // The organisation's own price beats the seed; a seeded model it has not priced uses the seed.
      event({
        user: ana.email!,
        model: 'gpt-4o-mini',
        time: '2026-01-05T08:00:00Z',
        input_tokens: m,
        output_tokens: m,
      }),
    ];
    const result = await ingestUsage(ctx, { orgId: org.id, events });
    expect(result.ok && result.value.unpricedModels).toEqual(['acme-1']);
    const costs = await queryRows<{ cost_micros: string }>(
      ctx.db.orm,
      sql`select cost_micros::text from usage_events where org_id = ${org.id.toString()}::bigint order by event_at`,
    );
    expect(costs.map((row) => row.cost_micros)).toEqual(['0', '3000000', '7500000', '750000']);
    // A later price change does not reprice history.
    await setPrice(ctx, {
      orgId: org.id,
      actor: admin,
      model: 'acme-1',
      input: '100',
      output: '100',
      effectiveFrom: new Date('2026-01-03T00:00:00Z'),
    });
    const again = await queryRows<{ cost_micros: string }>(
      ctx.db.orm,
      sql`select cost_micros::text from usage_events where org_id = ${org.id.toString()}::bigint order by event_at`,
    );
    expect(again).toEqual(costs);
  });

  it('values tokens with the category weight, 1 by default', async () => {
    const { ctx, org, ana } = await setup();
    const admin = { kind: 'operator', platform: 'cli' } as const;
    expect(await setWeight(ctx, { orgId: org.id, actor: admin, category: 'review', weight: '2.5' })).toMatchObject({
      ok: true,
    });
    expect(await setWeight(ctx, { orgId: org.id, actor: admin, category: 'chat', weight: '0' })).toMatchObject({
      ok: true,
    });
    expect(await setWeight(ctx, { orgId: org.id, actor: admin, category: 'chat', weight: '-1' })).toMatchObject({
      ok: false,
      failure: 'weight_invalid',
    });
    expect(
      await setWeight(ctx, {
        orgId: org.id,
        actor: { kind: 'member', memberId: ana.id, platform: 'slack' },
        category: 'chat',
        weight: '3',
      }),
    ).toMatchObject({
      ok: false,
      failure: 'not_an_admin',
    });
    await ingestUsage(ctx, {
      orgId: org.id,
      events: [
        event({ user: ana.email!, category: 'review', input_tokens: 1000, output_tokens: 1 }),
        event({ user: ana.email!, category: 'chat', input_tokens: 1000, output_tokens: 0 }),
        event({ user: ana.email!, category: 'code', input_tokens: 1000, output_tokens: 0 }),
      ],
    });
    const values = await queryRows<{ category: string; value: string }>(
      ctx.db.orm,
      sql`select category, value::text from usage_events where org_id = ${org.id.toString()}::bigint order by category`,
    );
    expect(values).toEqual([
      { category: 'chat', value: '0' },
      { category: 'code', value: '1000' },
      { category: 'review', value: '2503' },
    ]);
  });

  it('accepts OpenTelemetry GenAI attribute names, flat or under attributes, and chat identities', async () => {
    const { ctx, org, ana } = await setup();
    const slack = await addMember(ctx, {
      orgId: org.id,
      displayName: 'Sam',
      identity: { platform: 'slack', externalId: 'U0SAM', workspaceId: 'T1' },
      actor: operatorActor,
    });
    const teams = await addMember(ctx, {
      orgId: org.id,
      displayName: 'Tea',
      identity: { platform: 'teams', externalId: '0f8fad5b-d9cb-469f-a165-70867728950e', workspaceId: 'tenant' },
      actor: operatorActor,
    });
    if (!slack.ok || !teams.ok) throw new Error('members');
    await fund(ctx, org.id, [slack.value.id, teams.value.id], 10_000n);
    const result = await ingestUsage(ctx, {
      orgId: org.id,
      events: [
        {
          id: uniqueKey('otel'),
          time: '2026-01-05T08:30:00Z',
          user: ana.email,
          'gen_ai.request.model': 'gpt-4o',
          'gen_ai.usage.input_tokens': 120,
          'gen_ai.usage.output_tokens': 30,
        },
        {
          time: 1767601800000,
          attributes: {
            'gen_ai.response.id': uniqueKey('chatcmpl'),
            'user.email': ana.email,
            'gen_ai.request.model': 'claude-sonnet-4-5',
            'gen_ai.usage.input_tokens': '200',
            'gen_ai.usage.output_tokens': '50',
            'allot.category': 'review',
          },
        },
        event({ user: 'slack:U0SAM', input_tokens: 10, output_tokens: 0 }),
        event({ user: 'teams:0F8FAD5B-D9CB-469F-A165-70867728950E', input_tokens: 20, output_tokens: 0 }),
      ],
    });
    expect(result.ok && result.value.results.map((r) => r.status)).toEqual([
      'accepted',
      'accepted',
      'accepted',
      'accepted',
    ]);
    expect(await wallet(ctx, org.id, ana.id)).toBe(1_000_000n - 400n);
    expect(await wallet(ctx, org.id, slack.value.id)).toBe(10_000n - 10n);
    expect(await wallet(ctx, org.id, teams.value.id)).toBe(10_000n - 20n);
  });

  it('more than 1000 events in one batch are refused whole', async () => {
    const { ctx, org, ana } = await setup();
    const events = Array.from({ length: 1001 }, () => event({ user: ana.email! }));
    expect(await ingestUsage(ctx, { orgId: org.id, events })).toMatchObject({ ok: false, failure: 'too_many_events' });
  });

  it('randomised batches with repeats, conflicts and strangers keep the ledger, events and rollups in agreement', async () => {
    const { ctx, org, ana, ben } = await setup();
    const seed = Number(process.env.USAGE_SEED ?? Date.now() % 100_000);
    let state = seed;
    const random = () => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state / 2147483648;
    };
    const users = [ana.email!, ben.email!, 'stranger@example.com'];
    const pool: ReturnType<typeof event>[] = [];
    const batches = Array.from({ length: 12 }, () =>
      Array.from({ length: 1 + Math.floor(random() * 60) }, () => {
        const roll = random();
        if (pool.length > 0 && roll < 0.25) return pool[Math.floor(random() * pool.length)]!;
        if (pool.length > 0 && roll < 0.3) return { ...pool[Math.floor(random() * pool.length)]!, input_tokens: 1 };
        const fresh = event({
          user: users[Math.floor(random() * users.length)]!,
          input_tokens: Math.floor(random() * 5000),
          output_tokens: 1 + Math.floor(random() * 500),
          model: random() < 0.5 ? 'gpt-4o' : 'o3',
          time: new Date(Date.parse('2026-01-05T09:00:00Z') - Math.floor(random() * 40 * 86_400_000)).toISOString(),
        });
        pool.push(fresh);
        return fresh;
      }),
    );
    // Concurrently, two at a time: the database serialises batches of one organisation.
    for (let i = 0; i < batches.length; i += 2) {
      const results = await Promise.all(
        batches.slice(i, i + 2).map((events) => ingestUsage(ctx, { orgId: org.id, events })),
      );
      for (const result of results) expect(result.ok, `seed ${seed}`).toBe(true);
    }
    const [check] = await queryRows<Record<string, string>>(
      ctx.db.orm,
      sql`select (select coalesce(sum(input_tokens + output_tokens), 0) from usage_events where org_id = ${org.id.toString()}::bigint)::text as events,
                 (select coalesce(sum(tokens), 0) from usage_daily_rollups where org_id = ${org.id.toString()}::bigint)::text as daily,
                 (select coalesce(sum(tokens), 0) from usage_period_totals where org_id = ${org.id.toString()}::bigint and period = 'month')::text as monthly,
                 (select coalesce(sum(amount), 0) from transfers where org_id = ${org.id.toString()}::bigint and code = 'usage')::text as debited,
                 (select count(*) from usage_events e where org_id = ${org.id.toString()}::bigint and not exists
                   (select 1 from transfers t where t.org_id = e.org_id and t.id = e.transfer_id and t.code = 'usage'))::text as orphans`,
    );
    expect(check!.daily, `seed ${seed}`).toBe(check!.events);
    expect(check!.monthly, `seed ${seed}`).toBe(check!.events);
    expect(check!.debited, `seed ${seed}`).toBe(check!.events);
    expect(check!.orphans, `seed ${seed}`).toBe('0');
    const spent = BigInt(check!.events!);
    expect((await wallet(ctx, org.id, ana.id)) + (await wallet(ctx, org.id, ben.id)), `seed ${seed}`).toBe(
      2_000_000n - spent,
    );
    expect(await auditLedger(ctx), `seed ${seed}`).toEqual([]);
  });
});

describe("a batch's usage stripe, from its first read", () => {
  it('is the stripe findUsageAccountFor picks for every wallet id, and stripe 0 when the organisation has fewer', async () => {
    const { ctx, org } = await setup();
    const start = await findBatchStart(ctx.db.orm, org.id, undefined);
    expect(start?.usageStripes.length).toBe(usageStripes);
    const fewer = start!.usageStripes.filter((candidate) => candidate.stripe % 3 === 0);
    for (let wallet = 0n; wallet < BigInt(usageStripes * 2); wallet++) {
      const picked = pickUsageStripe(start!.usageStripes, wallet);
      expect(picked?.id).toBe((await findUsageAccountFor(ctx.db.orm, org.id, wallet))!.id);
      expect(picked?.stripe).toBe(Number(wallet % BigInt(usageStripes)));
      const fromFewer = pickUsageStripe(fewer, wallet)!;
      expect(fromFewer.stripe).toBe(
        Number(wallet % BigInt(usageStripes)) % 3 === 0 ? Number(wallet % BigInt(usageStripes)) : 0,
      );
    }
    expect(pickUsageStripe([], 5n)).toBeUndefined();
    expect(await findBatchStart(ctx.db.orm, org.id + 1_000_000n, undefined)).toBeUndefined();
  });
});
