import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  issueDueAllowances,
  nextAllowance,
  removeAllowance,
  setAllowance,
} from '../../src/allowances/allowances.usecases';
import { auditLedger, debitUsage, getBalances, grantTokens } from '../../src/ledger/ledger.usecases';
import { createTestClock } from '../../src/lib/clock';
import { operatorActor } from '../../src/lib/context';
import { updateMember } from '../../src/members/members.repository';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeMember, makeOrganisation, makeTeam, uniqueKey } from '../support/fixtures';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => tdb.close());

describe('recurring allowances', () => {
  it('a weekly allowance is issued once per member per week, however often the sweep runs', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-11-23T09:00:00Z'));
    const org = await makeOrganisation(ctx);
    const ana = await makeMember(ctx, org.id, { name: 'Ana' });
    const ben = await makeMember(ctx, org.id, { name: 'Ben' });
    const set = await setAllowance(ctx, {
      orgId: org.id,
      actor: operatorActor,
      target: { role: 'member' },
      amount: 10_000n,
      period: 'weekly',
      rolloverCapTokens: null,
    });
    expect(set.ok).toBe(true);
    const first = await issueDueAllowances(ctx, { orgId: org.id });
    const second = await issueDueAllowances(ctx, { orgId: org.id });
    await Promise.all([issueDueAllowances(ctx, { orgId: org.id }), issueDueAllowances(ctx, { orgId: org.id })]);
    expect(first.issued).toBe(2);
    expect(second).toMatchObject({ issued: 0, alreadyIssued: 2 });
    expect((await getBalances(tdb.db.orm, org.id, ana.id))?.wallet).toBe(10_000n);
    expect((await getBalances(tdb.db.orm, org.id, ben.id))?.wallet).toBe(10_000n);
    ctx.clock.set('2026-11-30T00:30:00Z');
    expect((await issueDueAllowances(ctx, { orgId: org.id })).issued).toBe(2);
    expect((await getBalances(tdb.db.orm, org.id, ana.id))?.wallet).toBe(20_000n);
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });

  it('a member’s allowance arrives at midnight in their own time zone', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-11-29T23:30:00Z'));
    const org = await makeOrganisation(ctx);
    const berlin = await makeMember(ctx, org.id, { name: 'Berta' });
    await updateMember(tdb.db.orm, org.id, berlin.id, { timeZone: 'Europe/Berlin' });
    const newYork = await makeMember(ctx, org.id, { name: 'Nia' });
    await updateMember(tdb.db.orm, org.id, newYork.id, { timeZone: 'America/New_York' });
    await setAllowance(ctx, {
      orgId: org.id,
      actor: operatorActor,
      target: { role: 'member' },
      amount: 7_000n,
      period: 'weekly',
      rolloverCapTokens: null,
    });
    // Sunday 23:30 UTC: already Monday 00:30 in Berlin, still Sunday 18:30 in New York.
    await issueDueAllowances(ctx, { orgId: org.id });
    const next = await nextAllowance(ctx, { orgId: org.id, memberId: newYork.id });
    expect(next?.at.toISOString()).toBe('2026-11-30T05:00:00.000Z');
    expect((await nextAllowance(ctx, { orgId: org.id, memberId: berlin.id }))?.at.toISOString()).toBe(
      '2026-12-06T23:00:00.000Z',
    );
    ctx.clock.set('2026-11-30T05:00:00Z');
    const report = await issueDueAllowances(ctx, { orgId: org.id });
    expect(report).toMatchObject({ issued: 1, alreadyIssued: 1 });
    expect((await getBalances(tdb.db.orm, org.id, berlin.id))?.wallet).toBe(7_000n);
    expect((await getBalances(tdb.db.orm, org.id, newYork.id))?.wallet).toBe(14_000n);
  });

  it('unused allowance above the rollover cap expires, while bonus grants never do', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-10-15T12:00:00Z'));
    const { org, admin, ana } = await makeTeam(ctx, 0n);
    await setAllowance(ctx, {
      orgId: org.id,
      actor: operatorActor,
      target: { memberId: ana.id },
      amount: 100_000n,
      period: 'monthly',
      rolloverCapTokens: 20_000n,
    });
    await issueDueAllowances(ctx, { orgId: org.id });
    await debitUsage(tdb.db.orm, {
      orgId: org.id,
      memberId: ana.id,
      amount: 30_000n,
      idempotencyKey: uniqueKey('u'),
      body: { n: 1 },
    });
    const bonus = await grantTokens(ctx, {
      orgId: org.id,
      actor: { kind: 'member', memberId: admin.id, platform: 'cli' },
      recipientIds: [ana.id],
      amount: 5_000n,
      idempotencyKey: uniqueKey('g'),
    });
    expect(bonus.ok).toBe(true);
    // Balance 75,000 of which 70,000 unused allowance: 20,000 carries over, 50,000 expires, the bonus stays.
    ctx.clock.set('2026-11-01T00:00:00Z');
    const report = await issueDueAllowances(ctx, { orgId: org.id });
    expect(report.expiredTokens).toBe(50_000n);
    expect((await getBalances(tdb.db.orm, org.id, ana.id))?.wallet).toBe(125_000n);
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });

  it('a member-specific allowance replaces the role’s, and only admins may set one', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-11-23T09:00:00Z'));
    const { org, manager, ana, ben } = await makeTeam(ctx, 0n);
    const refused = await setAllowance(ctx, {
      orgId: org.id,
      actor: { kind: 'member', memberId: manager.id, platform: 'slack' },
      target: { role: 'member' },
      amount: 1_000n,
      period: 'weekly',
      rolloverCapTokens: null,
    });
    expect(refused).toMatchObject({ ok: false, failure: 'not_an_admin' });
    await setAllowance(ctx, {
      orgId: org.id,
      actor: operatorActor,
      target: { role: 'member' },
      amount: 1_000n,
      period: 'weekly',
      rolloverCapTokens: null,
    });
    await setAllowance(ctx, {
      orgId: org.id,
      actor: operatorActor,
      target: { memberId: ana.id },
      amount: 5_000n,
      period: 'weekly',
      rolloverCapTokens: null,
    });
    await issueDueAllowances(ctx, { orgId: org.id });
    expect((await getBalances(tdb.db.orm, org.id, ana.id))?.wallet).toBe(5_000n);
    expect((await getBalances(tdb.db.orm, org.id, ben.id))?.wallet).toBe(1_000n);
    expect(
      await removeAllowance(ctx, { orgId: org.id, actor: operatorActor, target: { memberId: ben.id } }),
    ).toMatchObject({
      ok: false,
      failure: 'allowance_not_found',
    });
  });
});
