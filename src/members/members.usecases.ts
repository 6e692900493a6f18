import { returnBudget } from '../ledger/budgets.usecases';
import * as ledgerRepo from '../ledger/ledger.repository';
import type { Actor, Ctx } from '../lib/context';
import { withRetries } from '../lib/db-errors';
import { fail, ok, type Result } from '../lib/result';
import { isTimeZone } from '../lib/zoned-time.models';
import type { Member } from './members.repository';
import * as membersRepo from './members.repository';
import type { MemberRole } from './members.tables';
import { isActiveAdmin, roleArticle } from './roles.models';

export interface NewMember extends membersRepo.MemberFields {
  identity?: {
    platform: membersRepo.IdentityPlatform;
    externalId: string;
    workspaceId: string;
    details?: Record<string, unknown>;
  };
  actor: Actor;
}

export type AddMemberFailure =
  | 'email_taken'
  | 'email_invalid'
  | 'manager_not_found'
  | 'time_zone_invalid'
  | 'name_invalid';

const emailPattern = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const emailLengthMax = 254;
const displayNameLengthMax = 120;

/** A member with a wallet and a budget (used once they manage), and an optional platform identity. */
export async function addMember(ctx: Ctx, input: NewMember): Promise<Result<Member, AddMemberFailure>> {
  const displayName = input.displayName.trim().slice(0, displayNameLengthMax);
  if (displayName.length === 0) return fail('name_invalid');
  const email = input.email?.trim().toLowerCase() || null;
  if (email && (!emailPattern.test(email) || email.length > emailLengthMax)) return fail('email_invalid');
  if (input.timeZone && !isTimeZone(input.timeZone)) return fail('time_zone_invalid');
  if (email && (await membersRepo.findMemberByEmail(ctx.db.orm, input.orgId, email))) return fail('email_taken');
  if (input.managerId != null && !(await membersRepo.findMember(ctx.db.orm, input.orgId, input.managerId))) {
    return fail('manager_not_found');
  }
  try {
    const member = await ctx.db.orm.transaction(async (tx) => {
      const created = await membersRepo.insertMember(tx, {
        orgId: input.orgId,
        displayName,
        email,
        timeZone: input.timeZone ?? null,
        role: input.role ?? 'member',
        managerId: input.managerId ?? null,
        isBot: input.isBot ?? false,
      });
      await ledgerRepo.insertMemberAccounts(tx, input.orgId, created.id);
      if (input.identity)
        await membersRepo.insertIdentity(tx, { orgId: input.orgId, memberId: created.id, ...input.identity });
      await membersRepo.insertActorAudit(tx, {
        orgId: input.orgId,
        actor: input.actor,
        action: 'member.add',
        details: { memberId: created.id, displayName, email, role: created.role, identity: input.identity ?? null },
        at: ctx.clock.now(),
      });
      return created;
    });
    return ok(member);
  } catch (error) {
    if (email && (await membersRepo.findMemberByEmail(ctx.db.orm, input.orgId, email))) return fail('email_taken');
    throw error;
  }
}

export interface PlatformProfile {
  displayName: string;
  email?: string | null;
  timeZone?: string | null;
  isBot?: boolean;
  isActive?: boolean;
  /** The platform says this person administers the workspace (or ALLOT_ADMINS names them). */
  isPlatformAdmin?: boolean;
}

/**
 * The member behind a platform identity. Seen for the first time, they are linked to the member with
 * the same email (one person on Slack and Teams has one wallet) or created. Platform admins become
 * admins; bots and deactivated users are recorded as such so they cannot receive grants.
 */
export async function ensureMemberForIdentity(
  ctx: Ctx,
  input: {
    orgId: bigint;
    platform: membersRepo.IdentityPlatform;
    externalId: string;
    workspaceId: string;
    details?: Record<string, unknown>;
    /** Called only when the identity is new, to fetch the profile from the platform. */
    loadProfile: () => Promise<PlatformProfile>;
  },
): Promise<Member> {
  const known = await membersRepo.findMemberByIdentity(ctx.db.orm, input.orgId, input.platform, input.externalId);
  if (known) return known;
  const profile = await input.loadProfile();
  return withRetries(async () => {
    const again = await membersRepo.findMemberByIdentity(ctx.db.orm, input.orgId, input.platform, input.externalId);
    if (again) return again;
    const email = profile.email?.trim().toLowerCase() || null;
    const validEmail = email && emailPattern.test(email) ? email : null;
    const byEmail = validEmail ? await membersRepo.findMemberByEmail(ctx.db.orm, input.orgId, validEmail) : undefined;
    const identity = {
      platform: input.platform,
      externalId: input.externalId,
      workspaceId: input.workspaceId,
      details: input.details ?? {},
    };
    if (byEmail) {
      await ctx.db.orm.transaction(async (tx) => {
        await membersRepo.insertIdentity(tx, { orgId: input.orgId, memberId: byEmail.id, ...identity });
        if (profile.isPlatformAdmin && byEmail.role !== 'admin') {
          await membersRepo.updateMember(tx, input.orgId, byEmail.id, { role: 'admin' });
        }
        await membersRepo.insertAudit(tx, {
          orgId: input.orgId,
          actorMemberId: byEmail.id,
          platform: input.platform,
          action: 'member.link_identity',
          details: { memberId: byEmail.id, identity },
          at: ctx.clock.now(),
        });
      });
      return (await membersRepo.findMember(ctx.db.orm, input.orgId, byEmail.id))!;
    }
    const timeZone = profile.timeZone && isTimeZone(profile.timeZone) ? profile.timeZone : null;
    const created = await addMember(ctx, {
      orgId: input.orgId,
      displayName: profile.displayName || input.externalId,
      email: validEmail,
      timeZone,
      role: profile.isPlatformAdmin ? 'admin' : 'member',
      isBot: profile.isBot ?? false,
      identity,
      actor: { kind: 'system', platform: 'system' },
    });
    if (!created.ok) {
      const raced = await membersRepo.findMemberByIdentity(ctx.db.orm, input.orgId, input.platform, input.externalId);
      if (raced) return raced;
      throw new Error(`could not create a member for ${input.platform}:${input.externalId}: ${created.failure}`);
    }
    if (profile.isActive === false)
      await membersRepo.updateMember(ctx.db.orm, input.orgId, created.value.id, { isActive: false });
    return created.value;
  });
}

/**
 * Applies a platform's news about a known person (Slack `user_change`): deactivated people and bots
 * can no longer receive grants, platform admins become admins (never demoted here: Allot roles are
 * managed in Allot), and name, email and time zone follow the platform. Unknown people are ignored;
 * they are created when first seen acting or named.
 */
export async function refreshMemberFromPlatform(
  ctx: Ctx,
  input: { orgId: bigint; platform: membersRepo.IdentityPlatform; externalId: string; profile: PlatformProfile },
): Promise<Member | undefined> {
  const member = await membersRepo.findMemberByIdentity(ctx.db.orm, input.orgId, input.platform, input.externalId);
  if (!member) return undefined;
  const { profile } = input;
  const changes: Parameters<typeof membersRepo.updateMember>[3] = {};
  if (profile.isActive !== undefined && profile.isActive !== member.isActive) {
    // An operator's deactivation (allot member deactivate) stands until an operator reactivates.
    const reactivating = profile.isActive && !member.isActive;
    if (!reactivating || (await membersRepo.lastActiveStateChange(ctx.db.orm, input.orgId, member.id)) !== 'operator') {
      changes.isActive = profile.isActive;
    }
  }
  if (profile.isBot !== undefined && profile.isBot !== member.isBot) changes.isBot = profile.isBot;
  if (profile.isPlatformAdmin && member.role !== 'admin') changes.role = 'admin';
  const name = profile.displayName.trim().slice(0, displayNameLengthMax);
  if (name && name !== member.displayName) changes.displayName = name;
  if (profile.timeZone && isTimeZone(profile.timeZone) && profile.timeZone !== member.timeZone) {
    changes.timeZone = profile.timeZone;
  }
  const email = profile.email?.trim().toLowerCase();
  if (email && emailPattern.test(email) && email !== member.email) {
    // Another member already holding that email keeps it: merging people is an operator's decision.
    if (!(await membersRepo.findMemberByEmail(ctx.db.orm, input.orgId, email))) changes.email = email;
  }
  if (Object.keys(changes).length === 0) return member;
  return ctx.db.orm.transaction(async (tx) => {
    const updated = await membersRepo.updateMember(tx, input.orgId, member.id, changes);
    await membersRepo.insertAudit(tx, {
      orgId: input.orgId,
      actorMemberId: null,
      platform: input.platform,
      action: 'member.refresh',
      details: { memberId: member.id, changes },
      at: ctx.clock.now(),
    });
    return updated;
  });
}

export type AdminFailure = 'not_an_admin';

/** Admins are members with the admin role, and operators at the CLI. */
export async function isAdminActor(ctx: Ctx, orgId: bigint, actor: Actor): Promise<boolean> {
  if (actor.kind === 'operator') return true;
  if (actor.kind !== 'member') return false;
  const member = await membersRepo.findMember(ctx.db.orm, orgId, actor.memberId);
  return isActiveAdmin(member);
}

export type SetRoleFailure = AdminFailure | 'member_not_found' | 'budget_not_empty' | 'idempotency_conflict';

/** A role change, and what `returnBudget` moved from the member's budget back to the treasury (0 if nothing). */
export type RoleChanged = Member & { returnedBudget: bigint };

/**
 * Sets a member's role. Making a manager (or an admin) a plain member while their budget holds
 * tokens is refused with `budget_not_empty` (detail: `budget`): members cannot spend a budget, so the
 * tokens would be stranded. With `returnBudget` the budget is moved back to the treasury first, in
 * the same transaction as the role change (`key` makes that transfer idempotent).
 */
export async function setRole(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; memberId: bigint; role: MemberRole; returnBudget?: { idempotencyKey: string } },
): Promise<Result<RoleChanged, SetRoleFailure>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  return withRetries(() =>
    ctx.db.orm.transaction(async (tx): Promise<Result<RoleChanged, SetRoleFailure>> => {
      const member = await membersRepo.findMember(tx, input.orgId, input.memberId);
      if (!member) return fail('member_not_found');
      let returnedBudget = 0n;
      if (input.returnBudget) {
        const returned = await returnBudget(tx, {
          orgId: input.orgId,
          actor: input.actor,
          memberId: member.id,
          memo: `budget returned to the treasury: ${member.displayName} is now ${roleArticle[input.role]} ${input.role}`,
          idempotencyKey: input.returnBudget.idempotencyKey,
        });
        if (!returned.ok) return returned;
        returnedBudget = returned.value.returned;
      } else if (input.role === 'member' && member.role !== 'member') {
        const budget = await ledgerRepo.findAccount(tx, input.orgId, 'budget', member.id);
        const [locked] = budget ? await ledgerRepo.lockAccounts(tx, input.orgId, [budget.id]) : [];
        if (locked && locked.balance !== 0n) return fail('budget_not_empty', { budget: locked.balance });
      }
      const updated = await membersRepo.updateMember(tx, input.orgId, input.memberId, { role: input.role });
      if (!updated) return fail('member_not_found');
      await membersRepo.insertActorAudit(tx, {
        orgId: input.orgId,
        actor: input.actor,
        action: 'member.set_role',
        details: { memberId: input.memberId, role: input.role, from: member.role, returnedBudget },
        at: ctx.clock.now(),
      });
      return ok({ ...updated, returnedBudget });
    }),
  );
}

/**
 * Deactivates a member (`active: false`) or reactivates one. Nothing is deleted: their transfers,
 * wallet and budget stay, and the audit keeps who did it. A deactivated member receives nothing
 * (grants, allowances and top-ups are refused) and is left off leaderboards and the digest. It is the
 * same state Slack's `user_change` sets for a deactivated account; a deactivation made here stays
 * even when the platform later reports the account active (see refreshMemberFromPlatform).
 */
export async function setMemberActive(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; memberId: bigint; active: boolean },
): Promise<Result<{ member: Member; changed: boolean }, AdminFailure | 'member_not_found'>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  return ctx.db.orm.transaction(async (tx) => {
    const member = await membersRepo.findMember(tx, input.orgId, input.memberId);
    if (!member) return fail('member_not_found');
    if (member.isActive === input.active) return ok({ member, changed: false });
    const updated = (await membersRepo.updateMember(tx, input.orgId, member.id, { isActive: input.active }))!;
    await membersRepo.insertActorAudit(tx, {
      orgId: input.orgId,
      actor: input.actor,
      action: input.active ? 'member.reactivate' : 'member.deactivate',
      details: { memberId: member.id },
      at: ctx.clock.now(),
    });
    return ok({ member: updated, changed: true });
  });
}

/** Renames a member (1 to 120 characters after trimming; longer names are cut, as on first sight). */
export async function renameMember(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; memberId: bigint; displayName: string },
): Promise<Result<Member, AdminFailure | 'member_not_found' | 'name_invalid'>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  const displayName = input.displayName.trim().slice(0, displayNameLengthMax);
  if (displayName.length === 0) return fail('name_invalid');
  return ctx.db.orm.transaction(async (tx) => {
    const member = await membersRepo.findMember(tx, input.orgId, input.memberId);
    if (!member) return fail('member_not_found');
    const updated = (await membersRepo.updateMember(tx, input.orgId, member.id, { displayName }))!;
    await membersRepo.insertActorAudit(tx, {
      orgId: input.orgId,
      actor: input.actor,
      action: 'member.rename',
      details: { memberId: member.id, from: member.displayName, to: displayName },
      at: ctx.clock.now(),
    });
    return ok(updated);
  });
}

/**
 * Sets (or with null removes) a member's email, which links one person across Slack and Teams. The
 * email is checked and lower-cased; one already held by another member of the organisation is
 * refused with `email_taken`, also when a concurrent change takes it first.
 */
export async function setMemberEmail(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; memberId: bigint; email: string | null },
): Promise<Result<Member, AdminFailure | 'member_not_found' | 'email_invalid' | 'email_taken'>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  const email = input.email?.trim().toLowerCase() || null;
  if (email && (!emailPattern.test(email) || email.length > emailLengthMax)) return fail('email_invalid');
  const holder = email ? await membersRepo.findMemberByEmail(ctx.db.orm, input.orgId, email) : undefined;
  if (holder && holder.id !== input.memberId) return fail('email_taken');
  try {
    return await ctx.db.orm.transaction(async (tx) => {
      const member = await membersRepo.findMember(tx, input.orgId, input.memberId);
      if (!member) return fail('member_not_found');
      const updated = (await membersRepo.updateMember(tx, input.orgId, member.id, { email }))!;
      await membersRepo.insertActorAudit(tx, {
        orgId: input.orgId,
        actor: input.actor,
        action: 'member.set_email',
        details: { memberId: member.id, from: member.email, to: email },
        at: ctx.clock.now(),
      });
      return ok(updated);
    });
  } catch (error) {
    // The unique (organisation, email) index: another member took it between our check and our write.
    const taken = email ? await membersRepo.findMemberByEmail(ctx.db.orm, input.orgId, email) : undefined;
    if (taken && taken.id !== input.memberId) return fail('email_taken');
    throw error;
  }
}

export type SetManagerFailure =
  | AdminFailure
  | 'member_not_found'
  | 'manager_not_found'
  | 'own_manager'
  | 'reporting_cycle';

export async function setManager(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; memberId: bigint; managerId: bigint | null },
): Promise<Result<Member, SetManagerFailure>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  if (!(await membersRepo.findMember(ctx.db.orm, input.orgId, input.memberId))) return fail('member_not_found');
  if (input.managerId !== null) {
    if (input.managerId === input.memberId) return fail('own_manager');
    if (!(await membersRepo.findMember(ctx.db.orm, input.orgId, input.managerId))) return fail('manager_not_found');
    if (await membersRepo.isInReportingLine(ctx.db.orm, input.orgId, input.managerId, input.memberId)) {
      return fail('reporting_cycle');
    }
  }
  return ctx.db.orm.transaction(async (tx) => {
    const updated = await membersRepo.updateMember(tx, input.orgId, input.memberId, { managerId: input.managerId });
    if (!updated) return fail('member_not_found');
    await membersRepo.insertActorAudit(tx, {
      orgId: input.orgId,
      actor: input.actor,
      action: 'member.set_manager',
      details: { memberId: input.memberId, managerId: input.managerId },
      at: ctx.clock.now(),
    });
    // A manager needs the manager role to grant from a budget; promote members who gain a report.
    if (input.managerId !== null) {
      const manager = await membersRepo.findMember(tx, input.orgId, input.managerId);
      if (manager?.role === 'member')
        await membersRepo.updateMember(tx, input.orgId, input.managerId, { role: 'manager' });
    }
    return ok(updated);
  });
}

// Organisation verbs moved to organisations.usecases.ts; still exported here for chat, the Teams
// adapter and the CLI until they import them from there.
