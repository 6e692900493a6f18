import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client';
import { transferTokensMax } from '../../src/ledger/ledger.tables';
import {
  auditLedger,
  debitUsage,
  getBalances,
  grantTokens,
  issueBudget,
  topUp,
} from '../../src/ledger/ledger.usecases';
import { reverseTransfer } from '../../src/ledger/reversal.usecases';
import { type Actor, operatorActor } from '../../src/lib/context';
import { updateMember } from '../../src/members/members.repository';
import { reserveTokens } from '../../src/reservations/reservations.usecases';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeMember, makeTeam, uniqueKey } from '../support/fixtures';
import { expectNothingChanged, transferCount } from './ledger-snapshot';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => tdb.close());

const as = (memberId: bigint): Actor => ({ kind: 'member', memberId, platform: 'slack' });

async function team(budget = 100_000n) {
  const ctx = createTestCtx(tdb.db);
  const made = await makeTeam(ctx, budget);
  return { ctx, ...made };
}

describe('issuing budget from the treasury', () => {
  it('an operator issues budget to a manager, and the treasury goes negative by as much', async () => {
    const { ctx, org, manager } = await team(0n);
    const issued = await issueBudget(ctx, {
      orgId: org.id,
      actor: operatorActor,
      managerId: manager.id,
      amount: 250_000n,
      memo: 'Q1',
      idempotencyKey: uniqueKey(),
    });
    expect(issued).toMatchObject({ ok: true, value: { budgetBalance: 250_000n, replayed: false } });
    expect((await getBalances(tdb.db.orm, org.id, manager.id))?.budget).toBe(250_000n);
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });

  it.each([
    ['a zero amount', 'amount_invalid', { amount: 0n }],
    ['an amount above the most one transfer may move', 'amount_invalid', { amount: transferTokensMax + 1n }],
    ['an actor who is not an admin', 'not_an_admin', { actor: 'manager' }],
    ['a manager who does not exist', 'member_not_found', { managerId: 999_999n }],
    ['a target who is a plain member', 'not_a_manager', { managerId: 'ana' }],
  ] as const)('issuing budget with %s is refused as %s and moves nothing', async (_name, failure, change) => {
    const { ctx, org, manager, ana } = await team();
    const actor = 'actor' in change ? as(manager.id) : operatorActor;
    const managerId = 'managerId' in change ? (change.managerId === 'ana' ? ana.id : change.managerId) : manager.id;
    const amount = 'amount' in change ? change.amount : 1_000n;
    const result = await expectNothingChanged(tdb.db.orm, org.id, () =>
      issueBudget(ctx, { orgId: org.id, actor, managerId, amount, idempotencyKey: uniqueKey() }),
    );
    expect(result).toMatchObject({ ok: false, failure });
  });

  it('issuing budget again with the same key and body returns the first result and posts once', async () => {
    const { ctx, org, manager } = await team(0n);
    const input = {
      orgId: org.id,
      actor: operatorActor,
      managerId: manager.id,
      amount: 5_000n,
      idempotencyKey: uniqueKey(),
    };
    const first = await issueBudget(ctx, input);
    const again = await issueBudget(ctx, input);
    expect(first.ok && again.ok).toBe(true);
    if (!first.ok || !again.ok) return;
    expect(again.value.transferIds).toEqual(first.value.transferIds);
    expect(again.value.replayed).toBe(true);
    expect(again.value.createdAt).toEqual(first.value.createdAt);
    expect(await transferCount(tdb.db.orm, org.id)).toBe(1);
    expect((await getBalances(tdb.db.orm, org.id, manager.id))?.budget).toBe(5_000n);
  });

  it('issuing budget with a used key but another amount is a conflict and moves nothing', async () => {
    const { ctx, org, manager } = await team(0n);
    const key = uniqueKey();
    await issueBudget(ctx, {
      orgId: org.id,
      actor: operatorActor,
      managerId: manager.id,
      amount: 5_000n,
      idempotencyKey: key,
    });
    const result = await expectNothingChanged(tdb.db.orm, org.id, () =>
      issueBudget(ctx, {
        orgId: org.id,
        actor: operatorActor,
        managerId: manager.id,
        amount: 6_000n,
        idempotencyKey: key,
      }),
    );
    expect(result).toMatchObject({ ok: false, failure: 'idempotency_conflict' });
  });
});

describe('granting tokens', () => {
  it('an admin grants from the treasury, leaving every budget alone', async () => {
    const { ctx, org, admin, manager, ana } = await team();
    const granted = await grantTokens(ctx, {
      orgId: org.id,
      actor: as(admin.id),
      recipientIds: [ana.id],
      amount: 7_000n,
      idempotencyKey: uniqueKey(),
    });
    expect(granted).toMatchObject({ ok: true, value: { fundedFrom: 'treasury', budgetBalance: null, total: 7_000n } });
    expect((await getBalances(tdb.db.orm, org.id, manager.id))?.budget).toBe(100_000n);
    expect((await getBalances(tdb.db.orm, org.id, ana.id))?.wallet).toBe(7_000n);
  });

  it.each([
    ['a zero amount', 'amount_invalid'],
    ['nobody named', 'no_recipients'],
    ['more than fifty people named', 'too_many_recipients'],
    ['the granter among the recipients', 'self_grant'],
    ['a granter who manages nobody', 'not_a_manager'],
    ['a deactivated manager', 'not_a_manager'],
    ['a recipient who does not exist', 'recipient_not_found'],
    ['a bot among the recipients', 'recipient_is_bot'],
    ['a deactivated recipient', 'recipient_inactive'],
    ['more than the budget holds', 'exceeds_budget'],
  ] as const)('a grant with %s is refused as %s and moves nothing', async (name, failure) => {
    const { ctx, org, manager, ana, ben } = await team();
    let actor = as(manager.id);
    let recipientIds = [ana.id, ben.id];
    let amount = 1_000n;
    if (name === 'a zero amount') amount = 0n;
    if (name === 'nobody named') recipientIds = [];
    if (name === 'more than fifty people named')
      recipientIds = Array.from({ length: 51 }, (_, i) => 10_000n + BigInt(i));
    if (name === 'the granter among the recipients') recipientIds = [ana.id, manager.id];
    if (name === 'a granter who manages nobody') {
      actor = as(ana.id);
      recipientIds = [ben.id];
    }
    if (name === 'a deactivated manager') await updateMember(tdb.db.orm, org.id, manager.id, { isActive: false });
    if (name === 'a recipient who does not exist') recipientIds = [ana.id, 999_999n];
    if (name === 'a bot among the recipients')
      recipientIds = [ana.id, (await makeMember(ctx, org.id, { isBot: true })).id];
    if (name === 'a deactivated recipient') await updateMember(tdb.db.orm, org.id, ben.id, { isActive: false });
    if (name === 'more than the budget holds') amount = 50_001n;
    const result = await expectNothingChanged(tdb.db.orm, org.id, () =>
      grantTokens(ctx, { orgId: org.id, actor, recipientIds, amount, idempotencyKey: uniqueKey() }),
    );
    expect(result).toMatchObject({ ok: false, failure });
  });

  it('failures come in a fixed order: granting yourself more than your budget is a self grant', async () => {
    const { ctx, org, manager, ana } = await team(10n);
    const result = await grantTokens(ctx, {
      orgId: org.id,
      actor: as(manager.id),
      recipientIds: [ana.id, manager.id],
      amount: 1_000n,
      idempotencyKey: uniqueKey(),
    });
    expect(result).toMatchObject({ ok: false, failure: 'self_grant' });
    const plain = await grantTokens(ctx, {
      orgId: org.id,
      actor: as(ana.id),
      recipientIds: [ana.id],
      amount: 0n,
      idempotencyKey: uniqueKey(),
    });
    expect(plain).toMatchObject({ ok: false, failure: 'amount_invalid' });
  });

  it('a grant to three people that the budget cannot cover for all of them moves nothing at all', async () => {
    const { ctx, org, manager, ana, ben } = await team(25_000n);
    const cat = await makeMember(ctx, org.id, { managerId: manager.id });
    const result = await expectNothingChanged(tdb.db.orm, org.id, () =>
      grantTokens(ctx, {
        orgId: org.id,
        actor: as(manager.id),
        recipientIds: [ana.id, ben.id, cat.id],
        amount: 10_000n,
        idempotencyKey: uniqueKey(),
      }),
    );
    expect(result).toMatchObject({ ok: false, failure: 'exceeds_budget', detail: { budget: 25_000n, total: 30_000n } });
    for (const member of [ana, ben, cat]) expect((await getBalances(tdb.db.orm, org.id, member.id))?.wallet).toBe(0n);
  });

  it('a grant that exactly empties the budget is accepted', async () => {
    const { ctx, org, manager, ana, ben } = await team(20_000n);
    const result = await grantTokens(ctx, {
      orgId: org.id,
      actor: as(manager.id),
      recipientIds: [ana.id, ben.id],
      amount: 10_000n,
      idempotencyKey: uniqueKey(),
    });
    expect(result).toMatchObject({ ok: true, value: { budgetBalance: 0n } });
  });

  it('a retried grant with the same key returns the first answer and pays each person once', async () => {
    const { ctx, org, manager, ana, ben } = await team();
    const input = {
      orgId: org.id,
      actor: as(manager.id),
      recipientIds: [ana.id, ben.id],
      amount: 4_000n,
      memo: 'shipped',
      idempotencyKey: uniqueKey(),
    };
    const first = await grantTokens(ctx, input);
    const second = await grantTokens(ctx, input);
    // Naming someone twice is naming them once: the same body, so the same answer.
    const fourth = await grantTokens(ctx, { ...input, recipientIds: [ana.id, ana.id, ben.id] });
    const third = await grantTokens(ctx, { ...input, recipientIds: [ana.id] });
    expect(first.ok && second.ok).toBe(true);
    if (!first.ok || !second.ok) return;
    expect(second.value).toMatchObject({
      replayed: true,
      transferIds: first.value.transferIds,
      budgetBalance: 92_000n,
    });
    expect(second.value.recipients).toEqual(first.value.recipients);
    expect(fourth).toMatchObject({ ok: true, value: { replayed: true, transferIds: first.value.transferIds } });
    // Other people under the same key is another body: a conflict, never a second payment.
    expect(third).toMatchObject({ ok: false, failure: 'idempotency_conflict' });
    expect(await transferCount(tdb.db.orm, org.id)).toBe(3);
    expect((await getBalances(tdb.db.orm, org.id, ana.id))?.wallet).toBe(4_000n);
  });

  it('the same key with another memo is a conflict and moves nothing', async () => {
    const { ctx, org, manager, ana } = await team();
    const key = uniqueKey();
    const base = { orgId: org.id, actor: as(manager.id), recipientIds: [ana.id], amount: 4_000n, idempotencyKey: key };
    await grantTokens(ctx, { ...base, memo: 'shipped' });
    const result = await expectNothingChanged(tdb.db.orm, org.id, () => grantTokens(ctx, { ...base, memo: 'other' }));
    expect(result).toMatchObject({ ok: false, failure: 'idempotency_conflict' });
  });

  it('the same grant delivered twice at once pays once, and both deliveries get the same answer', async () => {
    const { ctx, org, manager, ana, ben } = await team();
    const input = {
      orgId: org.id,
      actor: as(manager.id),
      recipientIds: [ana.id, ben.id],
      amount: 1_000n,
      idempotencyKey: uniqueKey(),
    };
    const results = await Promise.all([grantTokens(ctx, input), grantTokens(ctx, input), grantTokens(ctx, input)]);
    const ids = results.map((result) => (result.ok ? result.value.transferIds.join(',') : result.failure));
    expect(new Set(ids).size).toBe(1);
    expect(results.filter((result) => result.ok && !result.value.replayed)).toHaveLength(1);
    expect(await transferCount(tdb.db.orm, org.id)).toBe(3);
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });
});

describe('top-ups and usage', () => {
  it('a top-up larger than the approving manager’s budget is refused and moves nothing', async () => {
    const { org, manager, ana } = await team(1_000n);
    const result = await expectNothingChanged(tdb.db.orm, org.id, () =>
      topUp(
        tdb.db.orm,
        {
          orgId: org.id,
          actor: as(manager.id),
          fromMemberId: manager.id,
          toMemberId: ana.id,
          amount: 1_001n,
          idempotencyKey: uniqueKey(),
        },
        false,
      ),
    );
    expect(result).toMatchObject({ ok: false, failure: 'exceeds_budget' });
  });

  it('a top-up approved by an admin is paid from the treasury; its key replayed with another amount is a conflict', async () => {
    const { ctx, org, admin, ana } = await team(0n);
    const key = uniqueKey();
    const input = {
      orgId: org.id,
      actor: as(admin.id),
      fromMemberId: null,
      toMemberId: ana.id,
      amount: 9_000n,
      idempotencyKey: key,
    };
    expect(await topUp(tdb.db.orm, input, false)).toMatchObject({ ok: true, value: { replayed: false } });
    expect(await topUp(tdb.db.orm, input, false)).toMatchObject({ ok: true, value: { replayed: true } });
    const conflict = await expectNothingChanged(tdb.db.orm, org.id, () =>
      topUp(tdb.db.orm, { ...input, amount: 9_001n }, false),
    );
    expect(conflict).toMatchObject({ ok: false, failure: 'idempotency_conflict' });
    expect((await getBalances(tdb.db.orm, org.id, ana.id))?.wallet).toBe(9_000n);
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });

  it('usage beyond the wallet overdraws it (the usage already happened) and the audit accepts it', async () => {
    const { ctx, org, ana } = await team();
    const key = uniqueKey('usage');
    const body = { id: key, model: 'gpt-x', input: 100, output: 50 };
    const used = await debitUsage(tdb.db.orm, {
      orgId: org.id,
      memberId: ana.id,
      amount: 150n,
      idempotencyKey: key,
      body,
    });
    expect(used).toMatchObject({ ok: true, value: { replayed: false } });
    expect((await getBalances(tdb.db.orm, org.id, ana.id))?.wallet).toBe(-150n);
    expect(
      await debitUsage(tdb.db.orm, { orgId: org.id, memberId: ana.id, amount: 150n, idempotencyKey: key, body }),
    ).toMatchObject({
      ok: true,
      value: { replayed: true },
    });
    const conflict = await expectNothingChanged(tdb.db.orm, org.id, () =>
      debitUsage(tdb.db.orm, {
        orgId: org.id,
        memberId: ana.id,
        amount: 151n,
        idempotencyKey: key,
        body: { ...body, output: 51 },
      }),
    );
    expect(conflict).toMatchObject({ ok: false, failure: 'idempotency_conflict' });
    expect((await getBalances(tdb.db.orm, org.id, ana.id))?.wallet).toBe(-150n);
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });
});

describe('reversals', () => {
  async function grantedTeam() {
    const made = await team();
    const granted = await grantTokens(made.ctx, {
      orgId: made.org.id,
      actor: as(made.manager.id),
      recipientIds: [made.ana.id],
      amount: 10_000n,
      idempotencyKey: uniqueKey(),
    });
    if (!granted.ok) throw new Error(granted.failure);
    return { ...made, grantId: granted.value.transferIds[0]! };
  }

  it('reversing a grant moves the tokens back to the budget and points at the grant', async () => {
    const { ctx, org, manager, ana, grantId } = await grantedTeam();
    const reversed = await reverseTransfer(ctx, {
      orgId: org.id,
      actor: operatorActor,
      transferId: grantId,
      idempotencyKey: uniqueKey(),
    });
    expect(reversed).toMatchObject({ ok: true, value: { reversed: { id: grantId, code: 'grant' } } });
    expect(await getBalances(tdb.db.orm, org.id, ana.id)).toMatchObject({ wallet: 0n });
    expect(await getBalances(tdb.db.orm, org.id, manager.id)).toMatchObject({ budget: 100_000n });
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
    const audit = await queryRows<{ action: string; platform: string; transfer_id: string }>(
      tdb.db.orm,
      sql`select action, platform, details->>'transferId' as transfer_id from audit_log
           where org_id = ${org.id.toString()}::bigint and action = 'transfer.reverse'`,
    );
    expect(audit).toEqual([{ action: 'transfer.reverse', platform: 'cli', transfer_id: grantId.toString() }]);
  });

  it.each([
    ['by someone who is not an admin', 'not_an_admin'],
    ['of a transfer that does not exist', 'transfer_not_found'],
    ['of a reversal', 'cannot_reverse_reversal'],
    ['a second time', 'already_reversed'],
    ['of a grant whose tokens were all spent', 'nothing_left'],
    ['of a grant whose tokens are held by an AI call in flight', 'exceeds_balance'],
  ] as const)('a reversal %s is refused as %s and moves nothing', async (name, failure) => {
    const { ctx, org, manager, ana, grantId } = await grantedTeam();
    let actor: Actor = operatorActor;
    let transferId = grantId;
    if (name === 'by someone who is not an admin') actor = as(manager.id);
    if (name === 'of a transfer that does not exist') transferId = 999_999_999n;
    if (name === 'of a reversal' || name === 'a second time') {
      const first = await reverseTransfer(ctx, {
        orgId: org.id,
        actor,
        transferId: grantId,
        idempotencyKey: uniqueKey(),
      });
      if (!first.ok) throw new Error(first.failure);
      if (name === 'of a reversal') transferId = first.value.transferIds[0]!;
    }
    if (name === 'of a grant whose tokens were all spent') {
      const key = uniqueKey();
      await debitUsage(tdb.db.orm, {
        orgId: org.id,
        memberId: ana.id,
        amount: 10_000n,
        idempotencyKey: key,
        body: { key },
      });
    }
    if (name === 'of a grant whose tokens are held by an AI call in flight') {
      await updateMember(tdb.db.orm, org.id, ana.id, { email: 'ana@example.com' });
      const held = await reserveTokens(ctx, {
        orgId: org.id,
        idempotencyKey: uniqueKey(),
        user: 'ana@example.com',
        tokens: 1n,
      });
      expect(held.ok).toBe(true);
    }
    const result = await expectNothingChanged(tdb.db.orm, org.id, () =>
      reverseTransfer(ctx, { orgId: org.id, actor, transferId, idempotencyKey: uniqueKey() }),
    );
    expect(result).toMatchObject({ ok: false, failure });
  });

  it('a reversal of a grant partly spent takes back only what remains of it: what was spent is history', async () => {
    const { ctx, org, manager, ana, grantId } = await grantedTeam();
    const key = uniqueKey();
    await debitUsage(tdb.db.orm, {
      orgId: org.id,
      memberId: ana.id,
      amount: 6_000n,
      idempotencyKey: key,
      body: { key },
    });
    const reversed = await reverseTransfer(ctx, {
      orgId: org.id,
      actor: operatorActor,
      transferId: grantId,
      idempotencyKey: uniqueKey(),
    });
    expect(reversed).toMatchObject({ ok: true, value: { amount: 4_000n, reversed: { id: grantId, amount: 10_000n } } });
    expect(await getBalances(tdb.db.orm, org.id, ana.id)).toMatchObject({ wallet: 0n });
    expect(await getBalances(tdb.db.orm, org.id, manager.id)).toMatchObject({ budget: 94_000n });
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });

  it('a reversal retried with its own key returns the first answer; with that key for another transfer, a conflict', async () => {
    const { ctx, org, grantId } = await grantedTeam();
    const key = uniqueKey();
    const first = await reverseTransfer(ctx, {
      orgId: org.id,
      actor: operatorActor,
      transferId: grantId,
      idempotencyKey: key,
    });
    const again = await reverseTransfer(ctx, {
      orgId: org.id,
      actor: operatorActor,
      transferId: grantId,
      idempotencyKey: key,
    });
    expect(
      first.ok && again.ok && again.value.replayed && again.value.transferIds[0] === first.value.transferIds[0],
    ).toBe(true);
    const other = await reverseTransfer(ctx, {
      orgId: org.id,
      actor: operatorActor,
      transferId: grantId - 1n,
      idempotencyKey: key,
    });
    expect(other).toMatchObject({ ok: false, failure: 'idempotency_conflict' });
  });

  it('two operators reversing the same transfer at once: exactly one wins, the other is told it is already reversed', async () => {
    // On Postgres the six calls run on six pooled connections at once; on PGlite they queue.
    const { ctx, org, grantId } = await grantedTeam();
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        reverseTransfer(ctx, { orgId: org.id, actor: operatorActor, transferId: grantId, idempotencyKey: uniqueKey() }),
      ),
    );
    expect(results.filter((result) => result.ok)).toHaveLength(1);
    expect(results.filter((result) => !result.ok).map((result) => !result.ok && result.failure)).toEqual(
      Array(5).fill('already_reversed'),
    );
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });
});
