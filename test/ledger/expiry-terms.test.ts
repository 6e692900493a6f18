import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueDueAllowances, setAllowance } from '../../src/allowances/allowances.usecases';
import { decideRequest, requestTopUp } from '../../src/approvals/approvals.usecases';
import { queryRows } from '../../src/db/client';
import { auditLedger, getBalances, grantTokens, issueBudget } from '../../src/ledger/ledger.usecases';
import { memberNextExpiries } from '../../src/ledger/lots.usecases';
import { createTestClock } from '../../src/lib/clock';
import { operatorActor } from '../../src/lib/context';
import type { ExpiryInput } from '../../src/lib/expiry.models';
import { updateMember } from '../../src/members/members.repository';
import { setDefaultExpiry } from '../../src/members/organisations.usecases';
import { ingestUsage } from '../../src/usage/usage.usecases';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeMember, makeOrganisation, makeTeam, uniqueKey } from '../support/fixtures';

// What an expiry typed with a grant, a budget issue, an approval or an allowance rule does to the lots
// the ledger makes, through the verbs chat and the CLI call: each recipient's instant in their own
// zone, the organisation's default, refusals that change nothing, and the next expiry /balance shows.

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => tdb.close());

const at = (text: string): ExpiryInput => {
  const [year, month, day] = text.split('-').map(Number) as [number, number, number];
  return { kind: 'date', year, month, day };
};

/** The expiry of the lot each transfer made, by transfer id. */
async function lotExpiries(orgId: bigint, transferIds: bigint[]): Promise<Map<bigint, string | null>> {
  const rows = await queryRows<{ transfer_id: string; expires_at: string | Date | null }>(
    tdb.db.orm,
    sql`select transfer_id::text, expires_at from lots
         where org_id = ${orgId} and transfer_id in (${sql.join(
           transferIds.map((id) => sql`${id}`),
           sql`, `,
         )})`,
  );
  return new Map(
    rows.map((row) => [
      BigInt(row.transfer_id),
      row.expires_at === null ? null : new Date(row.expires_at).toISOString(),
    ]),
  );
}

async function transferCount(orgId: bigint): Promise<number> {
  const [row] = await queryRows<{ n: string }>(
    tdb.db.orm,
    sql`select count(*)::text as n from transfers where org_id = ${orgId}`,
  );
  return Number(row!.n);
}

describe('a grant that expires', () => {
  it('a date is the end of that day in each recipient’s own zone: one grant, two instants', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-11-30T10:00:00Z'));
    const { org, manager, ana, ben } = await makeTeam(ctx);
    await updateMember(tdb.db.orm, org.id, ana.id, { timeZone: 'Pacific/Auckland' });
    await updateMember(tdb.db.orm, org.id, ben.id, { timeZone: 'America/Los_Angeles' });
    const granted = await grantTokens(ctx, {
      orgId: org.id,
      actor: { kind: 'member', memberId: manager.id, platform: 'slack' },
      recipientIds: [ana.id, ben.id],
      amount: 1_000n,
      idempotencyKey: uniqueKey(),
      expiry: at('2026-12-31'),
    });
    if (!granted.ok) throw new Error(granted.failure);
    expect(granted.value.expiry.validUntil).toBe('31 Dec 2026');
    const lots = await lotExpiries(org.id, granted.value.transferIds);
    expect(lots.get(granted.value.recipients[0]!.transferId)).toBe('2026-12-31T11:00:00.000Z');
    expect(lots.get(granted.value.recipients[1]!.transferId)).toBe('2027-01-01T08:00:00.000Z');
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });

  it('the organisation’s default applies when the grant names none, and “never” overrides it', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-11-30T10:00:00Z'));
    const { org, ana } = await makeTeam(ctx, 0n);
    expect((await setDefaultExpiry(ctx, { orgId: org.id, actor: operatorActor, days: 30 })).ok).toBe(true);
    const defaulted = await grantTokens(ctx, {
      orgId: org.id,
      actor: operatorActor,
      recipientIds: [ana.id],
      amount: 100n,
      idempotencyKey: uniqueKey(),
    });
    const never = await grantTokens(ctx, {
      orgId: org.id,
      actor: operatorActor,
      recipientIds: [ana.id],
      amount: 100n,
      idempotencyKey: uniqueKey(),
      expiry: { kind: 'never' },
    });
    if (!defaulted.ok || !never.ok) throw new Error('grant refused');
    expect(defaulted.value.expiry).toMatchObject({ fromDefault: true, validUntil: '30 Dec 2026' });
    expect(never.value.expiry).toMatchObject({ fromDefault: false, validUntil: null });
    const lots = await lotExpiries(org.id, [defaulted.value.transferIds[0]!, never.value.transferIds[0]!]);
    expect(lots.get(defaulted.value.transferIds[0]!)).toBe('2026-12-31T00:00:00.000Z');
    expect(lots.get(never.value.transferIds[0]!)).toBeNull();
    // Removing the default: grants that name nothing never expire again.
    expect((await setDefaultExpiry(ctx, { orgId: org.id, actor: operatorActor, days: null })).ok).toBe(true);
    const plain = await grantTokens(ctx, {
      orgId: org.id,
      actor: operatorActor,
      recipientIds: [ana.id],
      amount: 100n,
      idempotencyKey: uniqueKey(),
    });
    expect(plain.ok && plain.value.expiry.validUntil).toBeNull();
  });

  it('only admins set the default, and only to 1 to 1830 days', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-11-30T10:00:00Z'));
    const { org, manager } = await makeTeam(ctx, 0n);
    const byManager = await setDefaultExpiry(ctx, {
      orgId: org.id,
      actor: { kind: 'member', memberId: manager.id, platform: 'slack' },
      days: 30,
    });
    expect(byManager).toMatchObject({ ok: false, failure: 'not_an_admin' });
    expect(await setDefaultExpiry(ctx, { orgId: org.id, actor: operatorActor, days: 0 })).toMatchObject({
      failure: 'expiry_days_invalid',
    });
    expect(await setDefaultExpiry(ctx, { orgId: org.id, actor: operatorActor, days: 1831 })).toMatchObject({
      failure: 'expiry_days_invalid',
    });
  });

  it('an expiry in the past or more than 5 years ahead is refused, with the day, and moves nothing', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-11-30T10:00:00Z'));
    const { org, manager, ana } = await makeTeam(ctx);
    const before = await transferCount(org.id);
    const grant = (expiry: ExpiryInput) =>
      grantTokens(ctx, {
        orgId: org.id,
        actor: { kind: 'member', memberId: manager.id, platform: 'slack' },
        recipientIds: [ana.id],
        amount: 1_000n,
        idempotencyKey: uniqueKey(),
        expiry,
      });
    expect(await grant(at('2026-11-29'))).toEqual({
      ok: false,
      failure: 'expiry_past',
      detail: { day: '2026-11-29', example: '2027-02-28' },
    });
    expect(await grant(at('2031-12-01'))).toEqual({
      ok: false,
      failure: 'expiry_too_far',
      detail: { day: '2031-12-01', latest: '2031-11-30' },
    });
    expect(await grant({ kind: 'instant', at: new Date('2026-11-30T09:59:59Z') })).toMatchObject({
      failure: 'expiry_past',
    });
    expect(await transferCount(org.id)).toBe(before);
    expect((await getBalances(tdb.db.orm, org.id, manager.id))?.budget).toBe(100_000n);
  });

  it('the same key with another expiry is a conflict; with the same typed expiry a day later it replays', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-11-30T10:00:00Z'));
    const { org, manager, ana } = await makeTeam(ctx);
    const key = uniqueKey();
    const grant = (expiry: ExpiryInput | undefined) =>
      grantTokens(ctx, {
        orgId: org.id,
        actor: { kind: 'member', memberId: manager.id, platform: 'slack' },
        recipientIds: [ana.id],
        amount: 1_000n,
        idempotencyKey: key,
        expiry,
      });
    const first = await grant({ kind: 'duration', days: 90 });
    expect(first.ok && first.value.replayed).toBe(false);
    expect(await grant({ kind: 'duration', days: 30 })).toMatchObject({ ok: false, failure: 'idempotency_conflict' });
    expect(await grant(undefined)).toMatchObject({ ok: false, failure: 'idempotency_conflict' });
    ctx.clock.advanceMs(86_400_000);
    const again = await grant({ kind: 'duration', days: 90 });
    expect(again.ok && again.value.replayed).toBe(true);
    expect((await getBalances(tdb.db.orm, org.id, ana.id))?.wallet).toBe(1_000n);
  });
});

describe('budgets, approvals and allowances that expire', () => {
  it('a budget issue’s lot expires in the manager’s zone, and the budget line says when', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-11-30T10:00:00Z'));
    const { org, manager } = await makeTeam(ctx, 0n);
    await updateMember(tdb.db.orm, org.id, manager.id, { timeZone: 'Asia/Tokyo' });
    const issued = await issueBudget(ctx, {
      orgId: org.id,
      actor: operatorActor,
      managerId: manager.id,
      amount: 5_000n,
      idempotencyKey: uniqueKey(),
      expiry: at('2027-03-31'),
    });
    if (!issued.ok) throw new Error(issued.failure);
    expect((await lotExpiries(org.id, issued.value.transferIds)).get(issued.value.transferIds[0]!)).toBe(
      '2027-03-31T15:00:00.000Z',
    );
    expect(await memberNextExpiries(ctx, { orgId: org.id, memberId: manager.id })).toEqual({
      budget: { tokens: 5_000n, day: '2027-03-31', at: new Date('2027-03-31T15:00:00Z') },
    });
  });

  it('an approval with an expiry gives the requester a lot that expires; one in the past leaves the request pending', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-11-30T10:00:00Z'));
    const { org, manager, ana } = await makeTeam(ctx);
    const asked = await requestTopUp(ctx, {
      orgId: org.id,
      actor: { memberId: ana.id, platform: 'slack' },
      amount: 2_000n,
      idempotencyKey: uniqueKey(),
    });
    if (!asked.ok) throw new Error(asked.failure);
    const decide = (expiry: ExpiryInput) =>
      decideRequest(ctx, {
        orgId: org.id,
        actor: { memberId: manager.id, platform: 'slack' },
        requestId: asked.value.request.id,
        decision: 'approve',
        expiry,
      });
    expect(await decide(at('2026-01-01'))).toMatchObject({ ok: false, failure: 'expiry_past' });
    const approved = await decide({ kind: 'duration', days: 10 });
    if (!approved.ok) throw new Error(approved.failure);
    expect(approved.value.request.state).toBe('approved');
    expect(approved.value.expiry?.validUntil).toBe('10 Dec 2026');
    expect((await lotExpiries(org.id, [approved.value.transferId!])).get(approved.value.transferId!)).toBe(
      '2026-12-11T00:00:00.000Z',
    );
  });

  it('an operator at the CLI approves from the treasury, with the organisation’s default expiry', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-11-30T10:00:00Z'));
    const { org, ana } = await makeTeam(ctx, 0n);
    await setDefaultExpiry(ctx, { orgId: org.id, actor: operatorActor, days: 7 });
    const asked = await requestTopUp(ctx, {
      orgId: org.id,
      actor: { memberId: ana.id, platform: 'slack' },
      amount: 2_000n,
      idempotencyKey: uniqueKey(),
    });
    if (!asked.ok) throw new Error(asked.failure);
    const approved = await decideRequest(ctx, {
      orgId: org.id,
      actor: { operator: true },
      requestId: asked.value.request.id,
      decision: 'approve',
    });
    expect(approved).toMatchObject({
      ok: true,
      value: { fundedFrom: 'treasury', expiry: { validUntil: '7 Dec 2026' } },
    });
    expect((await getBalances(tdb.db.orm, org.id, ana.id))?.wallet).toBe(2_000n);
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });

  it('an allowance “for 10d” expires 10 days after each period starts; one ending on a date issues nothing after it', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-11-02T10:00:00Z'));
    const org = await makeOrganisation(ctx);
    const ana = await makeMember(ctx, org.id, { name: 'Ana' });
    const ben = await makeMember(ctx, org.id, { name: 'Ben' });
    const set = (memberId: bigint, expiry: ExpiryInput) =>
      setAllowance(ctx, {
        orgId: org.id,
        actor: operatorActor,
        target: { memberId },
        amount: 1_000n,
        period: 'weekly',
        rolloverCapTokens: null,
        expiry,
      });
    expect((await set(ana.id, { kind: 'duration', days: 10 })).ok).toBe(true);
    expect((await set(ben.id, at('2026-11-08'))).ok).toBe(true);
    expect(await issueDueAllowances(ctx, { orgId: org.id })).toMatchObject({ issued: 2 });
    // Monday 2 November + 10 days: the end of 12 November (UTC, the organisation's zone).
    expect(await memberNextExpiries(ctx, { orgId: org.id, memberId: ana.id })).toMatchObject({
      wallet: { tokens: 1_000n, day: '2026-11-12' },
    });
    expect(await memberNextExpiries(ctx, { orgId: org.id, memberId: ben.id })).toMatchObject({
      wallet: { tokens: 1_000n, day: '2026-11-08' },
    });
    ctx.clock.set('2026-11-09T10:00:00Z');
    expect(await issueDueAllowances(ctx, { orgId: org.id })).toMatchObject({ issued: 1 });
    expect(await set(ben.id, { kind: 'duration', days: 10 })).toMatchObject({ ok: true });
    expect(
      await setAllowance(ctx, {
        orgId: org.id,
        actor: operatorActor,
        target: { role: 'member' },
        amount: 1_000n,
        period: 'monthly',
        rolloverCapTokens: 500n,
        expiry: { kind: 'duration', days: 30 },
      }),
    ).toMatchObject({ ok: false, failure: 'expiry_with_rollover' });
  });
});

describe('the next expiry shown with a balance', () => {
  it('sums the lots expiring on the soonest local day in the member’s zone, and shows nothing when none expire', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-11-30T10:00:00Z'));
    const org = await makeOrganisation(ctx);
    const ana = await makeMember(ctx, org.id, { name: 'Ana', email: `ana-${uniqueKey()}@example.com` });
    const grant = (amount: bigint, expiry: ExpiryInput) =>
      grantTokens(ctx, {
        orgId: org.id,
        actor: operatorActor,
        recipientIds: [ana.id],
        amount,
        idempotencyKey: uniqueKey(),
        expiry,
      });
    expect(await memberNextExpiries(ctx, { orgId: org.id, memberId: ana.id })).toEqual({});
    await grant(500n, { kind: 'never' });
    expect(await memberNextExpiries(ctx, { orgId: org.id, memberId: ana.id })).toEqual({});
    await grant(100n, at('2026-12-31'));
    await grant(200n, { kind: 'instant', at: new Date('2026-12-31T15:00:00Z') });
    await grant(400n, at('2027-01-01'));
    expect(await memberNextExpiries(ctx, { orgId: org.id, memberId: ana.id })).toMatchObject({
      wallet: { tokens: 300n, day: '2026-12-31' },
    });
    // Usage spends the soonest first: 250 of the 200 (15:00) and 50 of the 100 (midnight).
    const used = await ingestUsage(ctx, {
      orgId: org.id,
      events: [
        {
          id: uniqueKey('e'),
          user: ana.email!,
          model: 'gpt-4o',
          input_tokens: 250,
          output_tokens: 0,
          time: '2026-11-30T09:00:00Z',
        },
      ],
    });
    expect(used.ok).toBe(true);
    const wallet = (await getBalances(tdb.db.orm, org.id, ana.id))!.wallet;
    const next = await memberNextExpiries(ctx, { orgId: org.id, memberId: ana.id });
    expect(next.wallet?.day).toBe('2026-12-31');
    expect(next.wallet!.tokens).toBe(300n - (1_200n - wallet));
    // The same lots read in Tokyo: the end of 31 December UTC is 09:00 on 1 January there, so what is
    // left of that grant is valid until 1 January, and the grant ending 1 January UTC until the 2nd.
    await updateMember(tdb.db.orm, org.id, ana.id, { timeZone: 'Asia/Tokyo' });
    expect(await memberNextExpiries(ctx, { orgId: org.id, memberId: ana.id })).toMatchObject({
      wallet: { tokens: 50n, day: '2027-01-01' },
    });
  });
});
