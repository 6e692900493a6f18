import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client';
import { analyzeGrownTables } from '../../src/db/maintenance';
import { auditLedger } from '../../src/ledger/ledger.usecases';
import { applyReservationBatch, type BatchedReserve } from '../../src/reservations/reservation-batches.repository';
import {
  configureReservationBatcher,
  createReservationBatcher,
  type ReservationBatcher,
} from '../../src/reservations/reservations.batcher';
import type { SettleEvent } from '../../src/reservations/reservations.repository';
import {
  getHolding,
  releaseReservation,
  reserveTokens,
  settleReservation,
} from '../../src/reservations/reservations.usecases';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeMember, makeOrganisation, uniqueKey } from '../support/fixtures';
import { fund } from '../usage/support';

// The batcher applies reserves and settles of one organisation that arrive together in one
// transaction (group commit). Each request must still be answered exactly as if it came alone, in
// arrival order; these tests pin that, and that batching does happen. Every test ends with a clean audit.

let tdb: TestDatabase;
let ctx: ReturnType<typeof createTestCtx>;
let batcher: ReservationBatcher;
beforeAll(async () => {
  tdb = await createTestDatabase({ poolMax: 10 });
  ctx = createTestCtx(tdb.db, undefined);
  ctx.clock.set('2026-11-30T10:00:00Z');
  batcher = configureReservationBatcher(tdb.db, {});
});
afterAll(async () => tdb?.close());

async function expectAuditClean(orgId: bigint) {
  expect(await auditLedger(ctx, { orgId })).toEqual([]);
}

/** An organisation whose members (one per amount) hold these tokens, each with an email. */
async function team(...tokens: bigint[]) {
  const org = await makeOrganisation(ctx);
  const people: { id: bigint; email: string }[] = [];
  for (const amount of tokens) {
    const email = `${uniqueKey('p')}@acme.test`;
    const member = await makeMember(ctx, org.id, { email });
    if (amount > 0n) await fund(ctx, org.id, [member.id], amount);
    people.push({ id: member.id, email });
  }
  return { orgId: org.id, people };
}

/** How many transactions wrote these reservations (their row versions' transaction ids). */
async function transactionsThatWrote(orgId: bigint, keys: string[]): Promise<number> {
  const [row] = await queryRows<{ n: number }>(
    ctx.db.orm,
    sql`select count(distinct xmin::text)::int as n from reservations
         where org_id = ${orgId.toString()}::bigint
           and idempotency_key in (${sql.join(
             keys.map((key) => sql`${key}`),
             sql`, `,
           )})`,
  );
  return row!.n;
}

function reserveRequest(email: string, key: string, amount: bigint, hash = 'h'): BatchedReserve {
  return {
    idempotencyKey: key,
    requestHash: hash,
    user: { kind: 'email', value: email, text: email },
    amount,
    model: 'gpt-4o',
    now: ctx.clock.now(),
    expiresAt: new Date(ctx.clock.now().getTime() + 300_000),
  };
}

/** The usage event a settle of reservation `key` stores: `tokens` split evenly into input and output. */
function settleEvent(key: string, tokens: bigint, model = 'm'): SettleEvent {
  return {
    eventId: `reservation:${key}`,
    opKey: `usage:reservation:${key}`,
    contentHash: 'c',
    model,
    category: 'other',
    inputTokens: tokens / 2n,
    outputTokens: tokens - tokens / 2n,
    eventAt: ctx.clock.now(),
  };
}

describe('reserves that arrive together are decided together, as if one by one', () => {
  it('a batch of reserves on one wallet that covers exactly K holds exactly K, in one transaction', async () => {
    const { orgId, people } = await team(10n * 100n);
    const [ana] = people;
    const before = batcher.stats();
    // The first goes at once, alone; the 39 that arrive while it is in flight go together next.
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        reserveTokens(ctx, { orgId, idempotencyKey: `k-${index}`, user: ana!.email, tokens: 100n }),
      ),
    );
    const after = batcher.stats();
    expect(after.batches - before.batches).toBe(2);
    expect(after.requests - before.requests).toBe(40);
    expect(answers.map((answer) => answer.ok)).toEqual(Array.from({ length: 40 }, (_, index) => index < 10));
    // Each held answer says what it left, in arrival order.
    expect(answers.slice(0, 10).map((answer) => answer.ok && answer.value.available)).toEqual(
      [9n, 8n, 7n, 6n, 5n, 4n, 3n, 2n, 1n, 0n].map((n) => n * 100n),
    );
    for (const answer of answers.slice(10)) {
      expect(answer).toMatchObject({ ok: false, failure: 'insufficient_tokens', detail: { available: 0n } });
    }
    expect(await getHolding(ctx, { orgId, memberId: ana!.id })).toEqual({
      balance: 1_000n,
      held: 1_000n,
      available: 0n,
    });
    expect(
      await transactionsThatWrote(
        orgId,
        Array.from({ length: 9 }, (_, index) => `k-${index + 1}`),
      ),
    ).toBe(1);
    await expectAuditClean(orgId);
  });

  it('a large reserve refused in a batch does not stop a smaller one after it that still fits', async () => {
    const { orgId, people } = await team(1_000n);
    const [ana] = people;
    const answers = await Promise.all(
      [600n, 500n, 400n].map((tokens, index) =>
        reserveTokens(ctx, { orgId, idempotencyKey: `fit-${index}`, user: ana!.email, tokens }),
      ),
    );
    expect(answers.map((answer) => (answer.ok ? answer.value.available : answer.failure))).toEqual([
      400n,
      'insufficient_tokens',
      0n,
    ]);
    await expectAuditClean(orgId);
  });

  it('reserves for several people in one batch each draw on their own wallet only', async () => {
    const { orgId, people } = await team(300n, 100n, 0n);
    const [ana, ben, cy] = people;
    const answers = await Promise.all(
      [ana, ben, cy, ana, ben, ana].map((person, index) =>
        reserveTokens(ctx, { orgId, idempotencyKey: `many-${index}`, user: person!.email, tokens: 100n }),
      ),
    );
    expect(answers.map((answer) => (answer.ok ? answer.value.available : answer.failure))).toEqual([
      200n,
      0n,
      'insufficient_tokens',
      100n,
      'insufficient_tokens',
      0n,
    ]);
    await expectAuditClean(orgId);
  });

  it('a duplicate within one batch gets the first answer; the same id with another body is a conflict', async () => {
    const { orgId, people } = await team(1_000n);
    const [ana] = people;
    const reserve = (key: string, tokens: bigint) =>
      reserveTokens(ctx, { orgId, idempotencyKey: key, user: ana!.email, tokens });
    await batcher.drain();
    const [, first, again, other] = await Promise.all([
      reserve('busy', 100n),
      reserve('twice', 200n),
      reserve('twice', 200n),
      reserve('twice', 300n),
    ]);
    expect(first.ok && first.value).toMatchObject({ available: 700n, replayed: false });
    expect(again.ok && again.value).toMatchObject({ available: 700n, replayed: true });
    expect(other).toMatchObject({ ok: false, failure: 'idempotency_conflict' });
    expect(await getHolding(ctx, { orgId, memberId: ana!.id })).toEqual({
      balance: 1_000n,
      held: 300n,
      available: 700n,
    });
    await expectAuditClean(orgId);
  });
});

describe('settles that arrive together share one transaction', () => {
  const usage = (input: number, output: number) => ({ model: 'gpt-4o', input_tokens: input, output_tokens: output });

  it('settles of one person in one batch each debit their own usage and answer with the balance after it, in order', async () => {
    const { orgId, people } = await team(1_000n, 500n);
    const [ana, ben] = people;
    for (const key of ['a1', 'a2', 'a3'])
      await reserveTokens(ctx, { orgId, idempotencyKey: key, user: ana!.email, tokens: 200n });
    await reserveTokens(ctx, { orgId, idempotencyKey: 'b1', user: ben!.email, tokens: 100n });
    await batcher.drain();
    // a1 goes alone; the other three arrive while it is in flight and go together.
    const [, a2, a3, b1] = await Promise.all([
      settleReservation(ctx, { orgId, idempotencyKey: 'a1', usage: usage(50, 50) }),
      settleReservation(ctx, { orgId, idempotencyKey: 'a2', usage: usage(100, 50) }),
      settleReservation(ctx, { orgId, idempotencyKey: 'a3', usage: usage(200, 100) }),
      settleReservation(ctx, { orgId, idempotencyKey: 'b1', usage: usage(10, 10) }),
    ]);
    expect(a2.ok && a2.value.debit).toMatchObject({ before: 900n, after: 750n, debited: 150n });
    expect(a3.ok && a3.value.debit).toMatchObject({ before: 750n, after: 450n, debited: 300n });
    expect(b1.ok && b1.value.debit).toMatchObject({ before: 500n, after: 480n, debited: 20n });
    expect(await getHolding(ctx, { orgId, memberId: ana!.id })).toEqual({ balance: 450n, held: 0n, available: 450n });
    expect(await transactionsThatWrote(orgId, ['a2', 'a3', 'b1'])).toBe(1);
    await expectAuditClean(orgId);
  });

  it('reserves and settles in one batch: a settle that frees tokens goes first, and a retried settle debits nothing', async () => {
    const { orgId, people } = await team(500n, 100n);
    const [ana, ben] = people;
    await reserveTokens(ctx, { orgId, idempotencyKey: 'held', user: ana!.email, tokens: 500n });
    await batcher.drain();
    // Ben's reserve goes alone; the three that arrive while it is in flight go together (the retried
    // settle, whose id is already in that batch, in the one after).
    const [, settled, reserved, again] = await Promise.all([
      reserveTokens(ctx, { orgId, idempotencyKey: 'busy', user: ben!.email, tokens: 1n }),
      settleReservation(ctx, { orgId, idempotencyKey: 'held', usage: usage(100, 100) }),
      reserveTokens(ctx, { orgId, idempotencyKey: 'next', user: ana!.email, tokens: 300n }),
      settleReservation(ctx, { orgId, idempotencyKey: 'held', usage: usage(100, 100) }),
    ]);
    expect(settled.ok && settled.value).toMatchObject({ usedTokens: 200n, replayed: false });
    expect(reserved).toMatchObject({ ok: true, value: { available: 0n } });
    expect(again.ok && again.value).toMatchObject({ replayed: true, debit: null });
    expect(await getHolding(ctx, { orgId, memberId: ana!.id })).toEqual({ balance: 300n, held: 300n, available: 0n });
    expect(await transactionsThatWrote(orgId, ['held', 'next'])).toBe(1);
    await expectAuditClean(orgId);
  });

  it('an unknown, a released and a refused settle in a batch are answered so, and the others settle', async () => {
    const { orgId, people } = await team(1_000n);
    const [ana] = people;
    for (const key of ['ok-1', 'gone', 'bad', 'ok-2']) {
      await reserveTokens(ctx, { orgId, idempotencyKey: key, user: ana!.email, tokens: 100n });
    }
    await releaseReservation(ctx, { orgId, idempotencyKey: 'gone' });
    await batcher.drain();
    const answers = await Promise.all([
      settleReservation(ctx, { orgId, idempotencyKey: 'ok-1', usage: usage(10, 10) }),
      settleReservation(ctx, { orgId, idempotencyKey: 'nope', usage: usage(10, 10) }),
      settleReservation(ctx, { orgId, idempotencyKey: 'gone', usage: usage(10, 10) }),
      settleReservation(ctx, {
        orgId,
        idempotencyKey: 'bad',
        usage: { model: 'gpt-4o', input_tokens: -5, output_tokens: 1 },
      }),
      settleReservation(ctx, { orgId, idempotencyKey: 'ok-2', usage: usage(30, 10) }),
    ]);
    expect(answers.map((answer) => (answer.ok ? answer.value.usedTokens : answer.failure))).toEqual([
      20n,
      'reservation_not_found',
      'reservation_released',
      'usage_rejected',
      40n,
    ]);
    expect(await getHolding(ctx, { orgId, memberId: ana!.id })).toEqual({ balance: 940n, held: 100n, available: 840n });
    await expectAuditClean(orgId);
  });
});

describe('a settle reads what it needs of its reservation, whichever replica made it', () => {
  it('a reservation made by another replica (not remembered here) is read and settled', async () => {
    const { orgId, people } = await team(1_000n);
    const [ana] = people;
    await reserveTokens(ctx, { orgId, idempotencyKey: 'elsewhere', user: ana!.email, tokens: 300n, model: 'gpt-4o' });
    // A fresh batcher remembers nothing, as another replica would.
    batcher = configureReservationBatcher(tdb.db, {});
    const settled = await settleReservation(ctx, {
      orgId,
      idempotencyKey: 'elsewhere',
      usage: { input_tokens: 100, output_tokens: 20 },
    });
    expect(settled.ok && settled.value).toMatchObject({ usedTokens: 120n, heldTokens: 300n, unpricedModel: null });
    expect(await getHolding(ctx, { orgId, memberId: ana!.id })).toEqual({ balance: 880n, held: 0n, available: 880n });
    await expectAuditClean(orgId);
  });

  it('a reservation released since it was made here is answered as released, even for usage that would be refused', async () => {
    const { orgId, people } = await team(1_000n);
    const [ana] = people;
    await reserveTokens(ctx, { orgId, idempotencyKey: 'let-go', user: ana!.email, tokens: 300n });
    await releaseReservation(ctx, { orgId, idempotencyKey: 'let-go' });
    const refused = { model: 'gpt-4o', input_tokens: 'many', output_tokens: 1 };
    expect(await settleReservation(ctx, { orgId, idempotencyKey: 'let-go', usage: refused })).toMatchObject({
      ok: false,
      failure: 'reservation_released',
    });
    expect(
      await settleReservation(ctx, { orgId, idempotencyKey: 'let-go', usage: { ...refused, input_tokens: 5 } }),
    ).toMatchObject({
      ok: false,
      failure: 'reservation_released',
    });
    expect(await getHolding(ctx, { orgId, memberId: ana!.id })).toEqual({
      balance: 1_000n,
      held: 0n,
      available: 1_000n,
    });
    await expectAuditClean(orgId);
  });
});

describe('the batcher isolates failures and finishes what it took', () => {
  it('a request the database refuses fails alone; its batch-mates are answered', async () => {
    const { orgId, people } = await team(1_000n);
    const [ana] = people;
    const own = createReservationBatcher(ctx.db.orm);
    const email = ana!.email;
    const results = await Promise.allSettled([
      own.reserve(orgId, reserveRequest(email, 'first', 100n)),
      own.reserve(orgId, reserveRequest(email, 'good-1', 100n)),
      // Zero tokens passes no verb; here it reaches the database, whose check refuses it.
      own.reserve(orgId, reserveRequest(email, 'bad', 0n)),
      own.reserve(orgId, reserveRequest(email, 'good-2', 100n)),
    ]);
    expect(results.map((result) => (result.status === 'fulfilled' ? result.value.status : 'threw'))).toEqual([
      'ok',
      'ok',
      'threw',
      'ok',
    ]);
    expect(await getHolding(ctx, { orgId, memberId: ana!.id })).toEqual({
      balance: 1_000n,
      held: 300n,
      available: 700n,
    });
    await expectAuditClean(orgId);
  });

  it('a settle whose event cannot be built fails alone', async () => {
    const { orgId, people } = await team(1_000n);
    const [ana] = people;
    for (const key of ['s-1', 's-2'])
      await reserveTokens(ctx, { orgId, idempotencyKey: key, user: ana!.email, tokens: 100n });
    const own = createReservationBatcher(ctx.db.orm);
    const settle = (key: string, prepare: () => SettleEvent) =>
      own.settle(orgId, { idempotencyKey: key, platform: 'api', now: ctx.clock.now(), prepare });
    // The first goes alone; the two settles arrive while it is in flight and go together.
    const busy = own.reserve(orgId, reserveRequest(ana!.email, 'busy', 1n));
    const broken = settle('s-1', () => {
      throw new Error('a bug in building the event');
    });
    const good = settle('s-2', () => settleEvent('s-2', 10n));
    expect((await busy).status).toBe('ok');
    await expect(broken).rejects.toThrow('a bug in building the event');
    expect((await good).outcome).toMatchObject({ status: 'ok', state: 'settled', debited: 10n });
    expect(own.stats()).toEqual({ batches: 2, requests: 3 });
    expect(await getHolding(ctx, { orgId, memberId: ana!.id })).toEqual({ balance: 990n, held: 101n, available: 889n });
    await expectAuditClean(orgId);
  });

  it('a batch answers its reserves before its settles, whatever order they came in', async () => {
    const { orgId, people } = await team(1_000n);
    const [ana] = people;
    await reserveTokens(ctx, { orgId, idempotencyKey: 'to-settle', user: ana!.email, tokens: 100n });
    const own = createReservationBatcher(ctx.db.orm);
    const order: string[] = [];
    // The first goes alone; the settle and then the reserve arrive while it is in flight and go together.
    const busy = own.reserve(orgId, reserveRequest(ana!.email, 'busy-order', 1n));
    const settled = own
      .settle(orgId, {
        idempotencyKey: 'to-settle',
        platform: 'api',
        now: ctx.clock.now(),
        prepare: () => settleEvent('to-settle', 10n),
      })
      .then((answer) => order.push(`settle ${answer.outcome?.status}`));
    const reserved = own
      .reserve(orgId, reserveRequest(ana!.email, 'after-settle', 100n))
      .then((outcome) => order.push(`reserve ${outcome.status}`));
    await Promise.all([busy, settled, reserved]);
    expect(own.stats()).toEqual({ batches: 2, requests: 3 });
    expect(order).toEqual(['reserve ok', 'settle ok']);
    await own.drain();
    await expectAuditClean(orgId);
  });

  it('a lone request goes at once in a batch of its own, and drain waits for everything taken', async () => {
    const { orgId, people } = await team(1_000n);
    const [ana] = people;
    const own = createReservationBatcher(ctx.db.orm);
    await own.reserve(orgId, reserveRequest(ana!.email, 'alone', 10n));
    await own.drain();
    expect(own.stats()).toEqual({ batches: 1, requests: 1 });
    const answered: string[] = [];
    for (let index = 0; index < 5; index++) {
      void own.reserve(orgId, reserveRequest(ana!.email, `late-${index}`, 10n)).then((outcome) => {
        answered.push(outcome.status);
      });
    }
    await own.drain();
    expect(answered).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(own.stats()).toEqual({ batches: 3, requests: 6 });
    await expectAuditClean(orgId);
  });
});

describe("a batch reads the rows it works on, never the organisation's history", () => {
  const usage = (input: number, output: number) => ({ model: 'gpt-4o', input_tokens: input, output_tokens: output });

  it('settling four and holding four reads a few dozen rows, with 1,000 reservations and 200 members behind them', async () => {
    const org = await makeOrganisation(ctx);
    const orgId = org.id;
    const people: { id: bigint; email: string }[] = [];
    for (let index = 0; index < 200; index++) {
      const email = `${uniqueKey('h')}@acme.test`;
      people.push({ id: (await makeMember(ctx, orgId, { email })).id, email });
    }
    for (let start = 0; start < people.length; start += 50)
      await fund(
        ctx,
        orgId,
        people.slice(start, start + 50).map((person) => person.id),
        10_000n,
      );
    for (let round = 0; round < 10; round++) {
      const keys = Array.from({ length: 100 }, (_, index) => `old-${round}-${index}`);
      await Promise.all(
        keys.map((key, index) =>
          reserveTokens(ctx, { orgId, idempotencyKey: key, user: people[index]!.email, tokens: 10n }),
        ),
      );
      await Promise.all(keys.map((key) => settleReservation(ctx, { orgId, idempotencyKey: key, usage: usage(5, 5) })));
    }
    const open = ['now-1', 'now-2', 'now-3', 'now-4'];
    for (const [index, key] of open.entries())
      await reserveTokens(ctx, { orgId, idempotencyKey: key, user: people[index]!.email, tokens: 100n });
    await batcher.drain();
    // As autovacuum does on PostgreSQL, and Allot itself on PGlite, once tables have grown: plans are
    // then made on statistics. (Without it, this batch read 9,276 entries of `reservations`.)
    await analyzeGrownTables(ctx.db.orm);

    // Rows read from the tables that keep history (sequential scans) and entries read from their indexes
    // (index scans). These counters hold what this session did since it last reported to the
    // statistics, so the batch's share is the difference across it, in one transaction (nothing is
    // reported in the middle of one).
    // (Lots, one per grant and recipient, are few enough here that the planner rightly scans them.)
    const history = ['reservations', 'transfers', 'usage_events', 'usage_daily_rollups'];
    type Orm = Parameters<typeof queryRows>[0];
    const rowsRead = async (orm: Orm) => {
      const rows = await queryRows<{ relname: string; read: number }>(
        orm,
        sql`select t.relname, sum(pg_stat_get_xact_tuples_returned(c.oid))::int as read
              from pg_class t
              join pg_class c on c.oid = t.oid or c.oid in (select indexrelid from pg_index where indrelid = t.oid)
             where t.relnamespace = 'public'::regnamespace
               and t.relname in (${sql.join(
                 history.map((name) => sql`${name}`),
                 sql`, `,
               )})
             group by t.relname`,
      );
      return Object.fromEntries(rows.map((row) => [row.relname, row.read]));
    };
    const read = await ctx.db.orm.transaction(async (tx) => {
      const before = await rowsRead(tx);
      const outcomes = await applyReservationBatch(tx, {
        orgId,
        platform: 'api',
        settles: open.map((key) => ({
          idempotencyKey: key,
          now: ctx.clock.now(),
          event: settleEvent(key, 50n, 'gpt-4o'),
        })),
        reserves: [10, 11, 12, 13].map((index) => reserveRequest(people[index]!.email, `new-${index}`, 100n)),
      });
      const after = await rowsRead(tx);
      const counts = Object.fromEntries(history.map((name) => [name, (after[name] ?? 0) - (before[name] ?? 0)]));
      return { outcomes, counts };
    });
    expect(read.outcomes.settles.map((outcome) => outcome.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(read.outcomes.reserves.map((outcome) => outcome.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    // A probe per row the batch works on; the organisation's 1,000 earlier reservations, their usage
    // events, transfers and rollups stay unread.
    for (const name of history) expect(read.counts[name] ?? 0, `${name} read`).toBeLessThan(40);
    await expectAuditClean(orgId);
  });
});
