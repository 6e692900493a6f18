import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topUpKeyForRequest } from '../../src/approvals/approvals.models';
import { cancelRequest, decideRequest, expireRequests, requestTopUp } from '../../src/approvals/approvals.usecases';
import * as ledgerRepo from '../../src/ledger/ledger.repository';
import { auditLedger, getBalances } from '../../src/ledger/ledger.usecases';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeMember, makeTeam, uniqueKey } from '../support/fixtures';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase({ poolMax: 12 });
});
afterAll(async () => tdb.close());

const as = (memberId: bigint) => ({ memberId, platform: 'slack' });

async function topUpTransfers(orgId: bigint) {
  const all = await ledgerRepo.listTransfers(tdb.db.orm, { orgId, limit: 1000 });
  return all.filter((t) => t.code === 'topup');
}

describe('requesting and deciding a top-up', () => {
  it('a request approved by the manager moves the amount from their budget to the requester, once', async () => {
    const ctx = createTestCtx(tdb.db);
    const { org, manager, ana } = await makeTeam(ctx, 100_000n);
    const requested = await requestTopUp(ctx, {
      orgId: org.id,
      actor: as(ana.id),
      amount: 30_000n,
      reason: 'evals',
      idempotencyKey: uniqueKey(),
    });
    expect(requested.ok && requested.value.approvers.map((a) => a.id)).toEqual([manager.id]);
    const id = requested.ok ? requested.value.request.id : 0n;
    const approved = await decideRequest(ctx, {
      orgId: org.id,
      actor: as(manager.id),
      requestId: id,
      decision: 'approve',
    });
    expect(approved).toMatchObject({
      ok: true,
      value: { request: { state: 'approved', decidedById: manager.id }, fundedFrom: 'budget' },
    });
    expect(await getBalances(tdb.db.orm, org.id, ana.id)).toMatchObject({ wallet: 30_000n });
    expect(await getBalances(tdb.db.orm, org.id, manager.id)).toMatchObject({ budget: 70_000n });
    const again = await decideRequest(ctx, { orgId: org.id, actor: as(manager.id), requestId: id, decision: 'deny' });
    expect(again).toMatchObject({
      ok: false,
      failure: 'request_already_decided',
      detail: { state: 'approved', decidedById: manager.id },
    });
    const transfers = await topUpTransfers(org.id);
    expect(transfers).toHaveLength(1);
    expect(transfers[0]!.idempotencyKey).toBe(topUpKeyForRequest(id));
    expect(await auditLedger(ctx)).toEqual([]);
  });

  it('the same source key makes one request, and the second call says it was not created', async () => {
    const ctx = createTestCtx(tdb.db);
    const { org, ana } = await makeTeam(ctx);
    const key = uniqueKey();
    const first = await requestTopUp(ctx, { orgId: org.id, actor: as(ana.id), amount: 5n, idempotencyKey: key });
    const second = await requestTopUp(ctx, { orgId: org.id, actor: as(ana.id), amount: 5n, idempotencyKey: key });
    expect(first.ok && first.value.created).toBe(true);
    expect(second.ok && second.value.created).toBe(false);
    expect(second.ok && second.value.request.id).toBe(first.ok && first.value.request.id);
  });

  it('a denial keeps its reason and moves nothing', async () => {
    const ctx = createTestCtx(tdb.db);
    const { org, manager, ana } = await makeTeam(ctx);
    const requested = await requestTopUp(ctx, {
      orgId: org.id,
      actor: as(ana.id),
      amount: 1_000n,
      idempotencyKey: uniqueKey(),
    });
    const id = requested.ok ? requested.value.request.id : 0n;
    const denied = await decideRequest(ctx, {
      orgId: org.id,
      actor: as(manager.id),
      requestId: id,
      decision: 'deny',
      note: 'not this quarter',
    });
    expect(denied).toMatchObject({
      ok: true,
      value: { request: { state: 'denied', decisionNote: 'not this quarter' }, transferId: null },
    });
    expect(await topUpTransfers(org.id)).toHaveLength(0);
  });

  it('an approval the budget cannot pay is refused and the request stays pending', async () => {
    const ctx = createTestCtx(tdb.db);
    const { org, manager, ana } = await makeTeam(ctx, 1_000n);
    const requested = await requestTopUp(ctx, {
      orgId: org.id,
      actor: as(ana.id),
      amount: 5_000n,
      idempotencyKey: uniqueKey(),
    });
    const id = requested.ok ? requested.value.request.id : 0n;
    const refused = await decideRequest(ctx, {
      orgId: org.id,
      actor: as(manager.id),
      requestId: id,
      decision: 'approve',
    });
    expect(refused).toMatchObject({ ok: false, failure: 'exceeds_budget', detail: { budget: 1_000n } });
    const denied = await decideRequest(ctx, { orgId: org.id, actor: as(manager.id), requestId: id, decision: 'deny' });
    expect(denied.ok).toBe(true);
    expect(await auditLedger(ctx)).toEqual([]);
  });

  it('only the manager or an admin decides, never the requester or a colleague', async () => {
    const ctx = createTestCtx(tdb.db);
    const { org, ana, ben, admin } = await makeTeam(ctx);
    const requested = await requestTopUp(ctx, {
      orgId: org.id,
      actor: as(ana.id),
      amount: 10n,
      idempotencyKey: uniqueKey(),
    });
    const id = requested.ok ? requested.value.request.id : 0n;
    for (const who of [ana.id, ben.id]) {
      expect(
        await decideRequest(ctx, { orgId: org.id, actor: as(who), requestId: id, decision: 'approve' }),
      ).toMatchObject({
        ok: false,
        failure: 'not_the_approver',
      });
    }
    const byAdmin = await decideRequest(ctx, {
      orgId: org.id,
      actor: as(admin.id),
      requestId: id,
      decision: 'approve',
    });
    expect(byAdmin).toMatchObject({ ok: true, value: { fundedFrom: 'treasury' } });
  });

  it('without a manager the admins are asked and pay from the treasury', async () => {
    const ctx = createTestCtx(tdb.db);
    const { org, admin } = await makeTeam(ctx);
    const loner = await makeMember(ctx, org.id, { name: 'Lou' });
    const requested = await requestTopUp(ctx, {
      orgId: org.id,
      actor: as(loner.id),
      amount: 10n,
      idempotencyKey: uniqueKey(),
    });
    expect(requested).toMatchObject({ ok: true, value: { request: { approverId: null } } });
    expect(requested.ok && requested.value.approvers.map((a) => a.id)).toEqual([admin.id]);
  });

  it('the requester cancels while pending; a later click is told it was cancelled', async () => {
    const ctx = createTestCtx(tdb.db);
    const { org, manager, ana, ben } = await makeTeam(ctx);
    const requested = await requestTopUp(ctx, {
      orgId: org.id,
      actor: as(ana.id),
      amount: 10n,
      idempotencyKey: uniqueKey(),
    });
    const id = requested.ok ? requested.value.request.id : 0n;
    expect(await cancelRequest(ctx, { orgId: org.id, actor: as(ben.id), requestId: id })).toMatchObject({
      failure: 'not_the_requester',
    });
    expect(await cancelRequest(ctx, { orgId: org.id, actor: as(ana.id), requestId: id })).toMatchObject({
      ok: true,
      value: { state: 'cancelled' },
    });
    expect(
      await decideRequest(ctx, { orgId: org.id, actor: as(manager.id), requestId: id, decision: 'approve' }),
    ).toMatchObject({
      ok: false,
      failure: 'request_already_decided',
      detail: { state: 'cancelled' },
    });
    expect(await cancelRequest(ctx, { orgId: org.id, actor: as(ana.id), requestId: id })).toMatchObject({
      failure: 'request_already_decided',
    });
  });

  it('a request nobody decides expires after its time, and then cannot be approved', async () => {
    const ctx = createTestCtx(tdb.db);
    const { org, manager, ana } = await makeTeam(ctx);
    const requested = await requestTopUp(ctx, {
      orgId: org.id,
      actor: as(ana.id),
      amount: 10n,
      idempotencyKey: uniqueKey(),
    });
    const id = requested.ok ? requested.value.request.id : 0n;
    ctx.clock.advanceMs(71 * 3_600_000);
    expect(await expireRequests(ctx, { orgId: org.id })).toEqual([]);
    ctx.clock.advanceMs(2 * 3_600_000);
    expect(
      await decideRequest(ctx, { orgId: org.id, actor: as(manager.id), requestId: id, decision: 'approve' }),
    ).toMatchObject({
      failure: 'request_expired',
    });
    const expired = await expireRequests(ctx, { orgId: org.id });
    expect(expired.map((r) => [r.id, r.state])).toEqual([[id, 'expired']]);
    expect(await expireRequests(ctx, { orgId: org.id })).toEqual([]);
    expect(
      await decideRequest(ctx, { orgId: org.id, actor: as(manager.id), requestId: id, decision: 'approve' }),
    ).toMatchObject({
      failure: 'request_expired',
    });
    expect(await topUpTransfers(org.id)).toHaveLength(0);
  });
});

describe('racing decisions', () => {
  it('twelve simultaneous approve and deny clicks by the manager and an admin give exactly one outcome and at most one transfer', async () => {
    const ctx = createTestCtx(tdb.db);
    const { org, manager, admin, ana } = await makeTeam(ctx, 1_000_000n);
    for (let round = 0; round < 5; round++) {
      const requested = await requestTopUp(ctx, {
        orgId: org.id,
        actor: as(ana.id),
        amount: 1_000n,
        idempotencyKey: uniqueKey(),
      });
      const id = requested.ok ? requested.value.request.id : 0n;
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          decideRequest(ctx, {
            orgId: org.id,
            actor: as(i % 2 === 0 ? manager.id : admin.id),
            requestId: id,
            decision: i % 3 === 0 ? 'deny' : 'approve',
          }),
        ),
      );
      const winners = results.filter((r) => r.ok);
      expect(winners).toHaveLength(1);
      expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.failure === 'request_already_decided')).toBe(true);
    }
    const requests = await ledgerRepo.listTransfers(tdb.db.orm, { orgId: org.id, limit: 1000 });
    const topups = requests.filter((t) => t.code === 'topup');
    expect(topups.length).toBeLessThanOrEqual(5);
    const wallet = (await getBalances(tdb.db.orm, org.id, ana.id))!.wallet;
    expect(wallet).toBe(BigInt(topups.length) * 1_000n);
    expect(await auditLedger(ctx)).toEqual([]);
  });

  it('a randomised mix of requests, decisions and cancellations keeps one final state per request and a sound ledger', async () => {
    const ctx = createTestCtx(tdb.db);
    const { org, manager, admin, ana, ben } = await makeTeam(ctx, 50_000n);
    const seed = Number(process.env.ALLOT_SEED ?? Date.now() % 100_000);
    let state = seed;
    const random = () => {
      state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
      return state / 2_147_483_648;
    };
    const ids: { id: bigint; requester: bigint }[] = [];
    for (let i = 0; i < 12; i++) {
      const requester = random() < 0.5 ? ana.id : ben.id;
      const requested = await requestTopUp(ctx, {
        orgId: org.id,
        actor: as(requester),
        amount: BigInt(1 + Math.floor(random() * 9_000)),
        idempotencyKey: uniqueKey(),
      });
      if (requested.ok) ids.push({ id: requested.value.request.id, requester });
    }
    const attempts = ids.flatMap(({ id, requester }) =>
      Array.from({ length: 4 }, () => {
        const roll = random();
        if (roll < 0.2) return cancelRequest(ctx, { orgId: org.id, actor: as(requester), requestId: id });
        return decideRequest(ctx, {
          orgId: org.id,
          actor: as(roll < 0.6 ? manager.id : admin.id),
          requestId: id,
          decision: roll < 0.85 ? 'approve' : 'deny',
        });
      }),
    );
    await Promise.all(attempts);
    const transfers = await topUpTransfers(org.id);
    const keys = transfers.map((t) => t.idempotencyKey);
    expect(new Set(keys).size, `seed ${seed}`).toBe(keys.length);
    for (const { id } of ids) {
      const related = transfers.filter((t) => t.idempotencyKey === topUpKeyForRequest(id));
      expect(related.length, `seed ${seed}`).toBeLessThanOrEqual(1);
    }
    expect(await auditLedger(ctx), `seed ${seed}`).toEqual([]);
  });
});
