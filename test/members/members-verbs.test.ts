import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client';
import { findAccount } from '../../src/ledger/ledger.repository';
import { type Actor, operatorActor } from '../../src/lib/context';
import { findOrganisationByWorkspace } from '../../src/members/members.repository';
import { addMember, createOrganisation, linkWorkspace, setManager, setRole } from '../../src/members/members.usecases';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeMember, makeOrganisation, makeTeam } from '../support/fixtures';

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
