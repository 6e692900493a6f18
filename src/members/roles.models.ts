import type { MemberRole } from './members.tables';

// Who may do what: the one home of Allot's access rules. Pure functions over the member record (and
// the operator at the CLI); the verbs call them and refuse, chat and the CLI only word the refusal.
// Roles (docs: README, "Roles"): an admin runs the organisation and grants from the treasury; a
// manager grants from their own budget to anyone and sees their reporting line; a member holds a
// wallet. A deactivated member keeps their role on record but holds none of its powers.

/** A role's article in a sentence ("is now a member", "an admin"): one table, so a new role needs its words. */
export const roleArticle: Record<MemberRole, 'a' | 'an'> = { admin: 'an', manager: 'a', member: 'a' };

/** The fields of a member the rules read. */
export interface RoleHolder {
  role: MemberRole;
  isActive: boolean;
  isBot?: boolean;
}

/** True for an active member with the admin role. Operators at the CLI are admins by the `Actor` rule below. */
export function isActiveAdmin(member: RoleHolder | null | undefined): boolean {
  return member?.role === 'admin' && member.isActive;
}

/** True for an active member with the manager role (an admin is not a manager for this rule). */
export function isActiveManager(member: RoleHolder | null | undefined): boolean {
  return member?.role === 'manager' && member.isActive;
}

/**
 * Where a grant by this actor is drawn from: the treasury (operators and active admins), the actor's
 * own budget (active managers), or nowhere (`null`: anyone else, refused as `not_a_manager`).
 */
export function grantSource(
  actor: { kind: 'operator' } | { kind: 'member'; member: RoleHolder | null | undefined },
): 'treasury' | 'budget' | null {
  if (actor.kind === 'operator') return 'treasury';
  if (isActiveAdmin(actor.member)) return 'treasury';
  if (isActiveManager(actor.member)) return 'budget';
  return null;
}

/** True when a budget may be issued to this member: an active person (not a bot) with a manager or admin role. */
export function mayHoldBudget(member: RoleHolder | null | undefined): boolean {
  return Boolean(member && member.role !== 'member' && !member.isBot && member.isActive);
}

/**
 * Whether a member sees a team page (the dashboard's "My team": their reports and the requests waiting
 * for them): active managers and active admins, the people requests are sent to.
 */
export function mayViewTeam(member: RoleHolder | null | undefined): boolean {
  return isActiveManager(member) || isActiveAdmin(member);
}

/**
 * Whether `viewer` may see `target`'s balance: their own always; an active admin anyone's; an active
 * manager the people in their reporting line (`viewerManagesTarget`, read from the member tree by the
 * caller, since the tree lives in the database).
 */
export function maySeeBalance(input: {
  viewer: RoleHolder & { id: bigint };
  target: { id: bigint };
  viewerManagesTarget: boolean;
}): boolean {
  if (input.viewer.id === input.target.id) return true;
  if (isActiveAdmin(input.viewer)) return true;
  return isActiveManager(input.viewer) && input.viewerManagesTarget;
}

/**
 * Whether a chat user is named by `ALLOT_ADMINS` (comma-separated emails, or `slack:U…` / `teams:<id>`
 * ids; README, "Configuration"). Emails compare case-insensitively (RFC 5321 local parts may be
 * case-sensitive, but every directory Allot reads treats them as not).
 */
export function matchesConfiguredAdmin(
  admins: readonly string[],
  user: { platform: string; externalId: string; email?: string | null },
): boolean {
  const id = `${user.platform}:${user.externalId}`;
  const email = user.email?.toLowerCase();
  return admins.some((entry) => entry === id || (email !== undefined && entry.toLowerCase() === email));
}
