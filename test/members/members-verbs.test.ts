import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueDueAllowances, setAllowance } from '../../src/allowances/allowances.usecases';
import { decideRequest, requestTopUp } from '../../src/approvals/approvals.usecases';
import { queryRows } from '../../src/db/client';
import { findAccount } from '../../src/ledger/ledger.repository';
import { auditLedger, getBalances, grantTokens, issueBudget } from '../../src/ledger/ledger.usecases';
import { createTestClock } from '../../src/lib/clock';
import { type Actor, operatorActor } from '../../src/lib/context';
import { findMember, findOrganisationByWorkspace } from '../../src/members/members.repository';
import {
  addMember,
  refreshMemberFromPlatform,
  renameMember,
  setManager,
  setMemberActive,
  setMemberEmail,
  setRole,
} from '../../src/members/members.usecases';
import { createOrganisation, linkWorkspace } from '../../src/members/organisations.usecases';
import { getLeaderboard } from '../../src/usage/leaderboard.usecases';
import { ingestUsage } from '../../src/usage/usage.usecases';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeMember, makeOrganisation, makeTeam, uniqueKey } from '../support/fixtures';
import { event } from '../usage/support';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => tdb.close());

const as = (memberId: bigint): Actor => ({ kind: 'member', memberId, platform: 'teams' });

async function auditActions(orgId: bigint): Promise<string[]> {
  const rows = await queryRows<{ action: string }>(
    tdb.db.orm,
    sql`select action from audit_log where org_id = ${orgId.toString()}::bigint order by id`,
  );
  return rows.map((row) => row.action);
}

async function organisationCount(): Promise<number> {
  const [row] = await queryRows<{ count: string }>(tdb.db.orm, sql`select count(*)::text as count from organisations`);
  return Number(row?.count);
}

describe('organisations', () => {
  it('a new organisation gets a treasury, a usage and an expired account, and an audit row', async () => {
    const ctx = createTestCtx(tdb.db);
    const created = await createOrganisation(ctx, {
      slug: ' Acme-EU ',
      name: 'Acme Europe',
      timeZone: 'Europe/Paris',
      actor: operatorActor,
    });
    expect(created).toMatchObject({
      ok: true,
      value: { slug: 'acme-eu', name: 'Acme Europe', timeZone: 'Europe/Paris' },
    });
    if (!created.ok) return;
    for (const kind of ['treasury', 'usage', 'expired'] as const) {
      expect(await findAccount(tdb.db.orm, created.value.id, kind)).toMatchObject({ kind, balance: 0n });
    }
    expect(await auditActions(created.value.id)).toEqual(['organisation.create']);
  });

  it.each([
    ['a slug with spaces', 'acme corp', 'UTC', 'slug_invalid'],
    ['an empty slug', '', 'UTC', 'slug_invalid'],
    ['a slug already taken', 'taken', 'UTC', 'slug_taken'],
    ['an unknown time zone', 'fresh-zone', 'Mars/Olympus', 'time_zone_invalid'],
  ])('creating an organisation with %s is refused and creates nothing', async (_name, slug, timeZone, failure) => {
    const ctx = createTestCtx(tdb.db);
    if (failure === 'slug_taken') await makeOrganisation(ctx, 'taken');
    const before = await organisationCount();
    const result = await createOrganisation(ctx, { slug, timeZone, actor: operatorActor });
    expect(result).toMatchObject({ ok: false, failure });
    expect(await organisationCount()).toBe(before);
  });
});

describe('members', () => {
  it('a new member gets a wallet and a budget at zero, and the audit log records who added them', async () => {
    const ctx = createTestCtx(tdb.db);
    const org = await makeOrganisation(ctx);
    const added = await addMember(ctx, {
      orgId: org.id,
      displayName: '  Ana Lima ',
      email: 'Ana@Example.COM',
      timeZone: 'America/Sao_Paulo',
      actor: operatorActor,
    });
    expect(added).toMatchObject({
      ok: true,
      value: { displayName: 'Ana Lima', email: 'ana@example.com', role: 'member' },
    });
    if (!added.ok) return;
    expect(await findAccount(tdb.db.orm, org.id, 'wallet', added.value.id)).toMatchObject({ balance: 0n });
    expect(await findAccount(tdb.db.orm, org.id, 'budget', added.value.id)).toMatchObject({ balance: 0n });
    expect(await auditActions(org.id)).toEqual(['organisation.create', 'member.add']);
  });

  it.each([
    ['an email another member has', 'email_taken'],
    ['an email without a domain', 'email_invalid'],
    ['a manager who does not exist', 'manager_not_found'],
    ['an unknown time zone', 'time_zone_invalid'],
    ['a blank name', 'name_invalid'],
  ])('adding a member with %s is refused as %s and adds nobody', async (name, failure) => {
    const ctx = createTestCtx(tdb.db);
    const org = await makeOrganisation(ctx);
    await makeMember(ctx, org.id, { email: 'ana@example.com' });
    const input = { orgId: org.id, displayName: 'Ben', email: 'ben@example.com', actor: operatorActor };
    if (name === 'an email another member has') input.email = 'ANA@example.com';
    if (name === 'an email without a domain') input.email = 'ben@localhost';
    if (name === 'a blank name') input.displayName = '   ';
    const result = await addMember(ctx, {
      ...input,
      managerId: name === 'a manager who does not exist' ? 999_999n : null,
      timeZone: name === 'an unknown time zone' ? 'Europe/Atlantis' : null,
    });
    expect(result).toMatchObject({ ok: false, failure });
    expect(await auditActions(org.id)).toEqual(['organisation.create', 'member.add']);
  });
});

describe('roles and reporting lines', () => {
  it('an admin makes a member a manager, recorded in the audit log with the platform it came from', async () => {
    const ctx = createTestCtx(tdb.db);
    const { org, admin, ana } = await makeTeam(ctx, 0n);
    const result = await setRole(ctx, { orgId: org.id, actor: as(admin.id), memberId: ana.id, role: 'manager' });
    expect(result).toMatchObject({ ok: true, value: { role: 'manager' } });
    const [row] = await queryRows<{ action: string; platform: string; actor_member_id: string }>(
      tdb.db.orm,
      sql`select action, platform, actor_member_id::text from audit_log
           where org_id = ${org.id.toString()}::bigint order by id desc limit 1`,
    );
    expect(row).toEqual({ action: 'member.set_role', platform: 'teams', actor_member_id: admin.id.toString() });
  });

  it.each([
    ['by a manager', 'not_an_admin'],
    ['of a member who does not exist', 'member_not_found'],
  ])('setting a role %s is refused as %s and changes nothing', async (name, failure) => {
    const ctx = createTestCtx(tdb.db);
    const { org, manager, ana } = await makeTeam(ctx, 0n);
    const before = await auditActions(org.id);
    const result = await setRole(ctx, {
      orgId: org.id,
      actor: name === 'by a manager' ? as(manager.id) : operatorActor,
      memberId: name === 'by a manager' ? ana.id : 999_999n,
      role: 'admin',
    });
    expect(result).toMatchObject({ ok: false, failure });
    expect(await auditActions(org.id)).toEqual(before);
  });

  it('giving a member their first report makes them a manager', async () => {
    const ctx = createTestCtx(tdb.db);
    const { org, ana, ben } = await makeTeam(ctx, 0n);
    const result = await setManager(ctx, { orgId: org.id, actor: operatorActor, memberId: ben.id, managerId: ana.id });
    expect(result).toMatchObject({ ok: true, value: { managerId: ana.id } });
    const promoted = await setRole(ctx, { orgId: org.id, actor: operatorActor, memberId: ana.id, role: 'manager' });
    expect(promoted).toMatchObject({ ok: true, value: { role: 'manager' } });
    const cleared = await setManager(ctx, { orgId: org.id, actor: operatorActor, memberId: ben.id, managerId: null });
    expect(cleared).toMatchObject({ ok: true, value: { managerId: null } });
  });

  it.each([
    ['by someone who is not an admin', 'not_an_admin'],
    ['for a member who does not exist', 'member_not_found'],
    ['to a manager who does not exist', 'manager_not_found'],
    ['to the member themself', 'own_manager'],
    ['that closes a loop in the reporting line', 'reporting_cycle'],
  ])('setting a manager %s is refused as %s and changes nothing', async (name, failure) => {
    const ctx = createTestCtx(tdb.db);
    const { org, manager, ana } = await makeTeam(ctx, 0n);
    let actor: Actor = operatorActor;
    let memberId = ana.id;
    let managerId: bigint | null = manager.id;
    if (name === 'by someone who is not an admin') actor = as(manager.id);
    if (name === 'for a member who does not exist') memberId = 999_999n;
    if (name === 'to a manager who does not exist') managerId = 999_999n;
    if (name === 'to the member themself') managerId = ana.id;
    // Ana reports to the manager; making the manager report to Ana would be a loop.
    if (name === 'that closes a loop in the reporting line') {
      memberId = manager.id;
      managerId = ana.id;
    }
    const before = await auditActions(org.id);
    const result = await setManager(ctx, { orgId: org.id, actor, memberId, managerId });
    expect(result).toMatchObject({ ok: false, failure });
    expect(await auditActions(org.id)).toEqual(before);
  });

  it('an admin of one organisation cannot reach a member of another: ids are scoped by organisation', async () => {
    const ctx = createTestCtx(tdb.db);
    const first = await makeTeam(ctx, 0n);
    const second = await makeOrganisation(ctx);
    const result = await setRole(ctx, {
      orgId: second.id,
      actor: operatorActor,
      memberId: first.ana.id,
      role: 'admin',
    });
    expect(result).toMatchObject({ ok: false, failure: 'member_not_found' });
  });
});

describe('linking chat workspaces', () => {
  it('a Teams tenant linked to the Slack organisation joins it; linking again is harmless; another organisation is refused', async () => {
    const ctx = createTestCtx(tdb.db);
    const acme = await makeOrganisation(ctx);
    const other = await makeOrganisation(ctx);
    const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47'.replace(/^.{8}/, Math.random().toString(16).slice(2, 10));
    expect(await linkWorkspace(ctx, { orgId: acme.id, platform: 'teams', externalId: tenant })).toEqual({
      ok: true,
      value: { alreadyLinked: false },
    });
    expect(await linkWorkspace(ctx, { orgId: acme.id, platform: 'teams', externalId: tenant })).toEqual({
      ok: true,
      value: { alreadyLinked: true },
    });
    expect(await linkWorkspace(ctx, { orgId: other.id, platform: 'teams', externalId: tenant })).toMatchObject({
      ok: false,
      failure: 'workspace_taken',
    });
    expect(await linkWorkspace(ctx, { orgId: other.id, platform: 'slack', externalId: 'T 1; drop' })).toMatchObject({
      ok: false,
      failure: 'workspace_invalid',
    });
    expect((await findOrganisationByWorkspace(tdb.db.orm, 'teams', tenant))?.id).toBe(acme.id);
  });
});

describe('deactivating and reactivating members', () => {
  it('a deactivated member receives nothing (grants, allowances, top-ups are refused by name) and leaves the leaderboard; reactivated, all comes back', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-01-05T09:00:00Z'));
    const { org, manager, ana, ben } = await makeTeam(ctx, 100_000n);
    const emails = { ana: `ana-${uniqueKey()}@example.com`, ben: `ben-${uniqueKey()}@example.com` };
    await setMemberEmail(ctx, { orgId: org.id, actor: operatorActor, memberId: ana.id, email: emails.ana });
    await setMemberEmail(ctx, { orgId: org.id, actor: operatorActor, memberId: ben.id, email: emails.ben });
    const used = await ingestUsage(ctx, {
      orgId: org.id,
      events: [event({ user: emails.ana, input_tokens: 3000 }), event({ user: emails.ben, input_tokens: 1000 })],
    });
    expect(used.ok && used.value.accepted).toBe(2);
    const board = async () => {
      const result = await getLeaderboard(ctx, { orgId: org.id, askerId: null, window: 'week' });
      return result.ok ? result.value.entries.map((entry) => entry.displayName) : [];
    };
    expect(await board()).toEqual(['Ana', 'Ben']);
    // Ben asked for a top-up before he was deactivated.
    const asked = await requestTopUp(ctx, {
      orgId: org.id,
      actor: { memberId: ben.id, platform: 'slack' },
      amount: 5_000n,
      idempotencyKey: uniqueKey(),
    });
    expect(asked.ok).toBe(true);
    const requestId = asked.ok ? asked.value.request.id : 0n;

    for (const member of [ana, ben]) {
      expect(
        await setMemberActive(ctx, { orgId: org.id, actor: operatorActor, memberId: member.id, active: false }),
      ).toMatchObject({ ok: true, value: { changed: true, member: { isActive: false } } });
    }
    expect(
      await setMemberActive(ctx, { orgId: org.id, actor: operatorActor, memberId: ana.id, active: false }),
    ).toMatchObject({ ok: true, value: { changed: false } });
    const granted = await grantTokens(ctx, {
      orgId: org.id,
      actor: { kind: 'member', memberId: manager.id, platform: 'slack' },
      recipientIds: [ana.id],
      amount: 1_000n,
      idempotencyKey: uniqueKey(),
    });
    expect(granted).toMatchObject({ ok: false, failure: 'recipient_inactive' });
    expect(
      await requestTopUp(ctx, {
        orgId: org.id,
        actor: { memberId: ana.id, platform: 'slack' },
        amount: 5_000n,
        idempotencyKey: uniqueKey(),
      }),
    ).toMatchObject({ ok: false, failure: 'member_inactive' });
    const approved = await decideRequest(ctx, {
      orgId: org.id,
      actor: { memberId: manager.id, platform: 'slack' },
      requestId,
      decision: 'approve',
    });
    expect(approved).toMatchObject({
      ok: false,
      failure: 'requester_inactive',
      detail: { request: { state: 'pending' } },
    });
    await setAllowance(ctx, {
      orgId: org.id,
      actor: operatorActor,
      target: { role: 'member' },
      amount: 10_000n,
      period: 'weekly',
      rolloverCapTokens: null,
    });
    expect((await issueDueAllowances(ctx, { orgId: org.id })).issued).toBe(0);
    expect(await board()).toEqual([]);
    expect((await getBalances(tdb.db.orm, org.id, ana.id))?.wallet).toBe(-(await usageCost(org.id, ana.id)));

    expect(
      await setMemberActive(ctx, { orgId: org.id, actor: operatorActor, memberId: ana.id, active: true }),
    ).toMatchObject({ ok: true, value: { changed: true, member: { isActive: true } } });
    expect(await board()).toEqual(['Ana']);
    expect((await issueDueAllowances(ctx, { orgId: org.id })).issued).toBe(1);
    expect(
      await decideRequest(ctx, {
        orgId: org.id,
        actor: { memberId: manager.id, platform: 'slack' },
        requestId,
        decision: 'deny',
      }),
    ).toMatchObject({ ok: true, value: { request: { state: 'denied' } } });
    expect(
      (await auditActions(org.id)).filter((action) => action.startsWith('member.') && action.endsWith('activate')),
    ).toEqual(['member.deactivate', 'member.deactivate', 'member.reactivate']);
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });

  it('Slack reporting an account active again does not undo an operator’s deactivation, but does undo its own', async () => {
    const ctx = createTestCtx(tdb.db);
    const org = await makeOrganisation(ctx);
    const add = async (name: string, externalId: string) => {
      const added = await addMember(ctx, {
        orgId: org.id,
        displayName: name,
        identity: { platform: 'slack', externalId, workspaceId: 'T1' },
        actor: operatorActor,
      });
      if (!added.ok) throw new Error(added.failure);
      return added.value;
    };
    const ana = await add('Ana', 'UANA1');
    await add('Ben', 'UBEN1');
    const slackSays = (externalId: string, name: string, isActive: boolean) =>
      refreshMemberFromPlatform(ctx, {
        orgId: org.id,
        platform: 'slack',
        externalId,
        profile: { displayName: name, isActive },
      });

    await setMemberActive(ctx, { orgId: org.id, actor: operatorActor, memberId: ana.id, active: false });
    expect(await slackSays('UANA1', 'Ana', true)).toMatchObject({ isActive: false });
    expect(await slackSays('UANA1', 'Ana Lima', true)).toMatchObject({ isActive: false, displayName: 'Ana Lima' });

    expect(await slackSays('UBEN1', 'Ben', false)).toMatchObject({ isActive: false });
    expect(await slackSays('UBEN1', 'Ben', true)).toMatchObject({ isActive: true });

    // Reactivated by an operator, Ana follows Slack again.
    await setMemberActive(ctx, { orgId: org.id, actor: operatorActor, memberId: ana.id, active: true });
    expect(await slackSays('UANA1', 'Ana Lima', false)).toMatchObject({ isActive: false });
    expect(await slackSays('UANA1', 'Ana Lima', true)).toMatchObject({ isActive: true });
  });

  it('only admins switch members on and off; a member of another organisation is not found', async () => {
    const ctx = createTestCtx(tdb.db);
    const { org, manager, ana } = await makeTeam(ctx, 0n);
    const other = await makeOrganisation(ctx);
    const before = await auditActions(org.id);
    expect(
      await setMemberActive(ctx, { orgId: org.id, actor: as(manager.id), memberId: ana.id, active: false }),
    ).toMatchObject({ ok: false, failure: 'not_an_admin' });
    expect(
      await setMemberActive(ctx, { orgId: other.id, actor: operatorActor, memberId: ana.id, active: false }),
    ).toMatchObject({ ok: false, failure: 'member_not_found' });
    expect(await auditActions(org.id)).toEqual(before);
  });
});

describe('demoting a manager who holds a budget', () => {
  it('is refused with the budget named, and changes nothing', async () => {
    const ctx = createTestCtx(tdb.db);
    const { org, admin, manager } = await makeTeam(ctx, 70_000n);
    const before = await auditActions(org.id);
    const refused = await setRole(ctx, { orgId: org.id, actor: as(admin.id), memberId: manager.id, role: 'member' });
    expect(refused).toEqual({ ok: false, failure: 'budget_not_empty', detail: { budget: 70_000n } });
    expect((await findMember(tdb.db.orm, org.id, manager.id))?.role).toBe('manager');
    expect(await auditActions(org.id)).toEqual(before);
    // Promoting keeps the budget where it is.
    expect(
      await setRole(ctx, { orgId: org.id, actor: as(admin.id), memberId: manager.id, role: 'admin' }),
    ).toMatchObject({ ok: true, value: { role: 'admin', returnedBudget: 0n } });
    expect((await getBalances(tdb.db.orm, org.id, manager.id))?.budget).toBe(70_000n);
  });

  it('with the budget returned, the tokens go back to the treasury in the same transaction as the role change', async () => {
    const ctx = createTestCtx(tdb.db);
    const { org, manager } = await makeTeam(ctx, 70_000n);
    const key = uniqueKey('return');
    const demoted = await setRole(ctx, {
      orgId: org.id,
      actor: operatorActor,
      memberId: manager.id,
      role: 'member',
      returnBudget: { idempotencyKey: key },
    });
    expect(demoted).toMatchObject({ ok: true, value: { role: 'member', returnedBudget: 70_000n } });
    expect((await getBalances(tdb.db.orm, org.id, manager.id))?.budget).toBe(0n);
    expect((await findAccount(tdb.db.orm, org.id, 'treasury'))?.balance).toBe(0n);
    const [returned] = await queryRows<{ code: string; amount: string; memo: string }>(
      tdb.db.orm,
      sql`select t.code, t.amount::text, t.memo from transfers t join accounts a on a.id = t.debit_account_id
           where t.org_id = ${org.id.toString()}::bigint and a.kind = 'budget'`,
    );
    expect(returned).toEqual({
      code: 'issue',
      amount: '70000',
      memo: 'budget returned to the treasury: Mia Manager is now a member',
    });
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);

    // Made a manager again with a new budget, then demoted with the same key: the key names the earlier
    // return of 70,000, so this one conflicts, and the role change is rolled back with it.
    await setRole(ctx, { orgId: org.id, actor: operatorActor, memberId: manager.id, role: 'manager' });
    const issued = await issueBudget(ctx, {
      orgId: org.id,
      actor: operatorActor,
      managerId: manager.id,
      amount: 5_000n,
      idempotencyKey: uniqueKey(),
    });
    expect(issued.ok).toBe(true);
    const before = await auditActions(org.id);
    const conflict = await setRole(ctx, {
      orgId: org.id,
      actor: operatorActor,
      memberId: manager.id,
      role: 'member',
      returnBudget: { idempotencyKey: key },
    });
    expect(conflict).toMatchObject({ ok: false, failure: 'idempotency_conflict' });
    expect((await findMember(tdb.db.orm, org.id, manager.id))?.role).toBe('manager');
    expect((await getBalances(tdb.db.orm, org.id, manager.id))?.budget).toBe(5_000n);
    expect(await auditActions(org.id)).toEqual(before);
  });
});

describe('renaming and re-emailing members', () => {
  it('a member is renamed and given a new email, each with an audit row; blank names, bad or taken emails are refused', async () => {
    const ctx = createTestCtx(tdb.db);
    const { org, ana, ben } = await makeTeam(ctx, 0n);
    const taken = `ben-${uniqueKey()}@example.com`;
    await setMemberEmail(ctx, { orgId: org.id, actor: operatorActor, memberId: ben.id, email: taken });
    const before = await auditActions(org.id);
    for (const [email, failure] of [
      ['not an email', 'email_invalid'],
      [`${'x'.repeat(250)}@example.com`, 'email_invalid'],
      [taken.toUpperCase(), 'email_taken'],
    ] as const) {
      expect(await setMemberEmail(ctx, { orgId: org.id, actor: operatorActor, memberId: ana.id, email })).toMatchObject(
        {
          ok: false,
          failure,
        },
      );
    }
    expect(
      await renameMember(ctx, { orgId: org.id, actor: operatorActor, memberId: ana.id, displayName: ' \t ' }),
    ).toMatchObject({ ok: false, failure: 'name_invalid' });
    expect(
      await renameMember(ctx, { orgId: org.id, actor: as(ben.id), memberId: ana.id, displayName: 'Ana L' }),
    ).toMatchObject({ ok: false, failure: 'not_an_admin' });
    expect(await auditActions(org.id)).toEqual(before);

    expect(
      await renameMember(ctx, { orgId: org.id, actor: operatorActor, memberId: ana.id, displayName: '  Ana Lima ' }),
    ).toMatchObject({ ok: true, value: { displayName: 'Ana Lima' } });
    expect(
      await setMemberEmail(ctx, {
        orgId: org.id,
        actor: operatorActor,
        memberId: ana.id,
        email: ' Ana.Lima@Example.com ',
      }),
    ).toMatchObject({ ok: true, value: { email: 'ana.lima@example.com' } });
    // Her own email again is no conflict; none removes it.
    expect(
      await setMemberEmail(ctx, {
        orgId: org.id,
        actor: operatorActor,
        memberId: ana.id,
        email: 'ana.lima@example.com',
      }),
    ).toMatchObject({ ok: true });
    expect(
      await setMemberEmail(ctx, { orgId: org.id, actor: operatorActor, memberId: ana.id, email: null }),
    ).toMatchObject({ ok: true, value: { email: null } });
    expect((await auditActions(org.id)).slice(before.length)).toEqual([
      'member.rename',
      'member.set_email',
      'member.set_email',
      'member.set_email',
    ]);
  });
});

/** What an organisation's usage cost a member's wallet so far (the sum of their usage transfers). */
async function usageCost(orgId: bigint, memberId: bigint): Promise<bigint> {
  const [row] = await queryRows<{ total: string }>(
    tdb.db.orm,
    sql`select coalesce(sum(t.amount), 0)::text as total from transfers t
          join accounts a on a.org_id = t.org_id and a.id = t.debit_account_id
         where t.org_id = ${orgId.toString()}::bigint and t.code = 'usage' and a.member_id = ${memberId.toString()}::bigint`,
  );
  return BigInt(row?.total ?? 0);
}
