import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueDueAllowances, setAllowance } from '../../src/allowances/allowances.usecases';
import { queryRows } from '../../src/db/client';
import { expireDueLots } from '../../src/ledger/expiry.usecases';
import { hashOperation } from '../../src/ledger/ledger.models';
import { findAccount } from '../../src/ledger/ledger.repository';
import { auditLedger, debitUsage, getBalances, post } from '../../src/ledger/ledger.usecases';
import { reverseTransfer } from '../../src/ledger/reversal.usecases';
import { createTestClock, type TestClock } from '../../src/lib/clock';
import { type Ctx, operatorActor } from '../../src/lib/context';
import { updateMember } from '../../src/members/members.repository';
import { releaseReservation, reserveTokens, settleReservation } from '../../src/reservations/reservations.usecases';
import { ingestUsage } from '../../src/usage/usage.usecases';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeMember, makeOrganisation, uniqueKey } from '../support/fixtures';

// Lots (issue 16): which tokens a debit spends, when what remains of a grant expires, and what a
// reversal takes back. The ledger's own rules, through its verbs; the words people see are tested
// with the chat commands.

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => tdb.close());

type TestCtx = Ctx & { clock: TestClock };

/** A grant from the treasury into a member's wallet, expiring at `expiresAt` (null: never). */
async function grant(ctx: TestCtx, orgId: bigint, memberId: bigint, amount: bigint, expiresAt: string | null) {
  const treasury = (await findAccount(ctx.db.orm, orgId, 'treasury'))!;
  const wallet = (await getBalances(ctx.db.orm, orgId, memberId))!.walletAccountId;
  const key = uniqueKey('grant');
  const outcome = await post(ctx.db.orm, {
    orgId,
    idempotencyKey: key,
    requestHash: hashOperation({ key, amount, expiresAt }),
    code: 'grant',
    legs: [{ debitAccountId: treasury.id, creditAccountId: wallet, amount }],
    actorMemberId: null,
    platform: 'cli',
    memo: expiresAt ? `valid until ${expiresAt}` : 'no expiry',
    reversesTransferId: null,
    lotExpiresAt: [expiresAt ? new Date(expiresAt) : null],
  });
  expect(outcome.status).toBe('ok');
  return outcome.transferIds[0]!;
}

/** What remains of each lot of a member's wallet, by the transfer that made it. */
async function remains(orgId: bigint, memberId: bigint): Promise<Record<string, bigint>> {
  const rows = await queryRows<{ transfer_id: string | null; remaining: string }>(
    tdb.db.orm,
    sql`select l.transfer_id::text, l.remaining::text from lots l
          join accounts a on a.org_id = l.org_id and a.id = l.account_id
         where l.org_id = ${orgId.toString()}::bigint and a.kind = 'wallet' and a.member_id = ${memberId.toString()}::bigint
         order by l.id`,
  );
  return Object.fromEntries(rows.map((row) => [row.transfer_id ?? 'opening', BigInt(row.remaining)]));
}

async function expiredTransfers(orgId: bigint) {
  return queryRows<{ amount: string; operation_key: string }>(
    tdb.db.orm,
    sql`select amount::text, operation_key from transfers
         where org_id = ${orgId.toString()}::bigint and code = 'expire' order by id`,
  );
}

async function person(ctx: TestCtx, zone?: string) {
  const org = await makeOrganisation(ctx);
  const ana = await makeMember(ctx, org.id, { name: 'Ana', email: `ana-${uniqueKey()}@example.com` });
  if (zone) await updateMember(ctx.db.orm, org.id, ana.id, { timeZone: zone });
  return { org, ana };
}

describe('the burn-down order', () => {
  it('usage spends the allowance (ending soonest) first, then the grant expiring soonest, then the later one, then the grant that never expires', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-11-10T12:00:00Z'));
    const { org, ana } = await person(ctx);
    const later = await grant(ctx, org.id, ana.id, 1_000n, '2027-01-01T00:00:00Z');
    const never = await grant(ctx, org.id, ana.id, 1_000n, null);
    const sooner = await grant(ctx, org.id, ana.id, 1_000n, '2026-12-16T00:00:00Z');
    await setAllowance(ctx, {
      orgId: org.id,
      actor: operatorActor,
      target: { memberId: ana.id },
      amount: 500n,
      period: 'monthly',
      rolloverCapTokens: null,
    });
    await issueDueAllowances(ctx, { orgId: org.id });
    const allowance = Object.keys(await remains(org.id, ana.id)).at(-1)!;

    // 500 of allowance (ends 1 December), then 1,000 expiring 15 December, then 300 of the January one.
    const used = await ingestUsage(ctx, {
      orgId: org.id,
      events: [
        {
          id: uniqueKey('e'),
          user: ana.email!,
          model: 'gpt-4o',
          input_tokens: 1_000,
          output_tokens: 800,
          time: '2026-11-10T11:00:00Z',
        },
      ],
    });
    expect(used.ok).toBe(true);
    expect(await remains(org.id, ana.id)).toEqual({
      [later.toString()]: 700n,
      [never.toString()]: 1_000n,
      [sooner.toString()]: 0n,
      [allowance]: 0n,
    });
    // A direct usage debit follows the same order: the rest of January's grant, then the lasting one.
    await debitUsage(tdb.db.orm, {
      orgId: org.id,
      memberId: ana.id,
      amount: 900n,
      idempotencyKey: uniqueKey(),
      body: { n: 1 },
    });
    expect(await remains(org.id, ana.id)).toMatchObject({ [later.toString()]: 0n, [never.toString()]: 800n });
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });

  it('a settled reservation spends in the same order, and ties go to the oldest grant', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-11-10T12:00:00Z'));
    const { org, ana } = await person(ctx);
    const first = await grant(ctx, org.id, ana.id, 400n, '2026-12-01T00:00:00Z');
    const second = await grant(ctx, org.id, ana.id, 400n, '2026-12-01T00:00:00Z');
    const key = uniqueKey('call');
    expect((await reserveTokens(ctx, { orgId: org.id, idempotencyKey: key, user: ana.email!, tokens: 700n })).ok).toBe(
      true,
    );
    const settled = await settleReservation(ctx, {
      orgId: org.id,
      idempotencyKey: key,
      usage: { model: 'gpt-4o', input_tokens: 300, output_tokens: 200 },
    });
    expect(settled.ok).toBe(true);
    expect(await remains(org.id, ana.id)).toEqual({ [first.toString()]: 0n, [second.toString()]: 300n });
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });

  it('usage beyond every lot overdraws the wallet, and the next grant pays that debt before anything else', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-11-10T12:00:00Z'));
    const { org, ana } = await person(ctx);
    await grant(ctx, org.id, ana.id, 100n, null);
    await debitUsage(tdb.db.orm, {
      orgId: org.id,
      memberId: ana.id,
      amount: 250n,
      idempotencyKey: uniqueKey(),
      body: { n: 1 },
    });
    expect((await getBalances(tdb.db.orm, org.id, ana.id))?.wallet).toBe(-150n);
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
    const next = await grant(ctx, org.id, ana.id, 1_000n, '2026-12-31T00:00:00Z');
    expect((await remains(org.id, ana.id))[next.toString()]).toBe(850n);
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });
});

describe('expiry', () => {
  it('what remains of a partly spent grant expires at its instant, once however often the sweep runs', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-12-30T12:00:00Z'));
    const { org, ana } = await person(ctx);
    const expiring = await grant(ctx, org.id, ana.id, 1_000n, '2026-12-31T23:00:00Z');
    await grant(ctx, org.id, ana.id, 200n, null);
    await debitUsage(tdb.db.orm, {
      orgId: org.id,
      memberId: ana.id,
      amount: 300n,
      idempotencyKey: uniqueKey(),
      body: { n: 1 },
    });

    ctx.clock.set('2026-12-31T22:59:59Z');
    expect(await expireDueLots(ctx, { orgId: org.id })).toEqual([]);
    ctx.clock.set('2026-12-31T23:00:00Z');
    const done = await expireDueLots(ctx, { orgId: org.id });
    expect(done).toMatchObject([{ amount: 700n, status: 'expired' }]);
    for (let sweep = 0; sweep < 3; sweep++) expect(await expireDueLots(ctx, { orgId: org.id })).toEqual([]);
    expect((await expiredTransfers(org.id)).map((row) => row.amount)).toEqual(['700']);
    expect((await getBalances(tdb.db.orm, org.id, ana.id))?.wallet).toBe(200n);
    // Reversing it now takes back nothing: it was spent or expired.
    expect(
      await reverseTransfer(ctx, {
        orgId: org.id,
        actor: operatorActor,
        transferId: expiring,
        idempotencyKey: uniqueKey(),
      }),
    ).toMatchObject({ ok: false, failure: 'nothing_left' });
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });

  it('tokens held by a call in flight do not expire under it: the rest expires now, what the call gives back at the next sweep', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-12-31T22:00:00Z'));
    const { org, ana } = await person(ctx);
    await grant(ctx, org.id, ana.id, 1_000n, '2026-12-31T23:00:00Z');
    const key = uniqueKey('call');
    expect((await reserveTokens(ctx, { orgId: org.id, idempotencyKey: key, user: ana.email!, tokens: 400n })).ok).toBe(
      true,
    );
    ctx.clock.set('2026-12-31T23:00:00Z');
    expect(await expireDueLots(ctx, { orgId: org.id })).toMatchObject([{ amount: 600n, status: 'held' }]);
    expect(await getBalances(tdb.db.orm, org.id, ana.id)).toMatchObject({ wallet: 400n, held: 400n });
    // The call used 150 of its 400 (from the expiring grant, which expires soonest); 250 come back and expire.
    await settleReservation(ctx, {
      orgId: org.id,
      idempotencyKey: key,
      usage: { model: 'gpt-4o', input_tokens: 100, output_tokens: 50 },
    });
    expect(await expireDueLots(ctx, { orgId: org.id })).toMatchObject([{ amount: 250n, status: 'expired' }]);
    expect(await getBalances(tdb.db.orm, org.id, ana.id)).toMatchObject({ wallet: 0n, held: 0n });
    expect((await expiredTransfers(org.id)).map((row) => row.amount)).toEqual(['600', '250']);
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });

  it('a released call gives its tokens back to the expiring grant, and they expire at the next sweep', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-12-31T22:00:00Z'));
    const { org, ana } = await person(ctx);
    await grant(ctx, org.id, ana.id, 500n, '2026-12-31T23:00:00Z');
    const key = uniqueKey('call');
    await reserveTokens(ctx, { orgId: org.id, idempotencyKey: key, user: ana.email!, tokens: 500n });
    ctx.clock.set('2026-12-31T23:00:05Z');
    expect(await expireDueLots(ctx, { orgId: org.id })).toMatchObject([{ amount: 0n, status: 'held' }]);
    await releaseReservation(ctx, { orgId: org.id, idempotencyKey: key });
    expect(await expireDueLots(ctx, { orgId: org.id })).toMatchObject([{ amount: 500n, status: 'expired' }]);
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });

  it('three sweepers at once expire each lot once', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-12-01T00:00:00Z'));
    const org = await makeOrganisation(ctx);
    const members = await Promise.all(
      Array.from({ length: 6 }, (_, index) => makeMember(ctx, org.id, { name: `P${index}` })),
    );
    for (const member of members) {
      for (let lot = 0; lot < 5; lot++) await grant(ctx, org.id, member.id, 100n + BigInt(lot), '2026-12-02T00:00:00Z');
    }
    ctx.clock.set('2026-12-02T00:00:00Z');
    const sweeps = await Promise.all([1, 2, 3].map(() => expireDueLots(ctx, { orgId: org.id })));
    const expired = sweeps.flat().filter((expiry) => expiry.amount > 0n);
    expect(expired).toHaveLength(30);
    expect(new Set(expired.map((expiry) => expiry.lotId.toString())).size).toBe(30);
    expect(await expiredTransfers(org.id)).toHaveLength(30);
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });

  it('an allowance keeps up to its rollover cap at the period’s end, and what it keeps never expires after', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-10-15T12:00:00Z'));
    const { org, ana } = await person(ctx, 'Asia/Tokyo');
    await setAllowance(ctx, {
      orgId: org.id,
      actor: operatorActor,
      target: { memberId: ana.id },
      amount: 1_000n,
      period: 'monthly',
      rolloverCapTokens: 300n,
    });
    await issueDueAllowances(ctx, { orgId: org.id });
    await debitUsage(tdb.db.orm, {
      orgId: org.id,
      memberId: ana.id,
      amount: 100n,
      idempotencyKey: uniqueKey(),
      body: { n: 1 },
    });
    // October ends at midnight in Tokyo: 15:00 UTC on 31 October.
    ctx.clock.set('2026-10-31T14:59:59Z');
    expect(await expireDueLots(ctx, { orgId: org.id })).toEqual([]);
    ctx.clock.set('2026-10-31T15:00:00Z');
    expect(await issueDueAllowances(ctx, { orgId: org.id })).toMatchObject({ issued: 1, expiredTokens: 600n });
    expect((await getBalances(tdb.db.orm, org.id, ana.id))?.wallet).toBe(1_300n);
    ctx.clock.set('2027-03-01T00:00:00Z');
    await issueDueAllowances(ctx, { orgId: org.id });
    // November's allowance, never spent, kept 300 at its end and 700 expired; no sweep ran until March,
    // so no other allowance was issued. October's 300 kept are still there.
    expect((await expiredTransfers(org.id)).map((row) => row.amount)).toEqual(['600', '700']);
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });
});
