import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Orm } from '../db/client';
import { type Actor, actorMemberId } from '../lib/context';
import { auditLog, type MemberRole, memberIdentities, members, organisations, workspaces } from './members.tables';

export type Organisation = typeof organisations.$inferSelect;
export type Member = typeof members.$inferSelect;
export type MemberIdentity = typeof memberIdentities.$inferSelect;
export type IdentityPlatform = MemberIdentity['platform'];

/** Bound on lists of members read in one query (reports, admins). */
export const membersListMax = 5_000;

export async function insertOrganisation(
  orm: Orm,
  input: { slug: string; name: string; timeZone: string },
): Promise<Organisation> {
  const [row] = await orm.insert(organisations).values(input).returning();
  return row!;
}

export async function findOrganisationBySlug(orm: Orm, slug: string): Promise<Organisation | undefined> {
  const [row] = await orm.select().from(organisations).where(eq(organisations.slug, slug)).limit(1);
  return row;
}

/** Bound on organisations listed at once (the CLI's `org list`). */
export const organisationsListMax = 1_000;

export async function listOrganisations(orm: Orm): Promise<Organisation[]> {
  return orm.select().from(organisations).orderBy(asc(organisations.id)).limit(organisationsListMax);
}

export async function findOrganisationById(orm: Orm, id: bigint): Promise<Organisation | undefined> {
  const [row] = await orm.select().from(organisations).where(eq(organisations.id, id)).limit(1);
  return row;
}

/** Changes an organisation's settings; undefined when there is no such organisation. */
export async function updateOrganisation(
  orm: Orm,
  id: bigint,
  fields: Partial<Pick<Organisation, 'defaultExpiryDays'>>,
): Promise<Organisation | undefined> {
  const [row] = await orm.update(organisations).set(fields).where(eq(organisations.id, id)).returning();
  return row;
}

export async function findOrganisationByWorkspace(
  orm: Orm,
  platform: IdentityPlatform,
  externalId: string,
): Promise<Organisation | undefined> {
  const [row] = await orm
    .select({ organisation: organisations })
    .from(workspaces)
    .innerJoin(organisations, eq(organisations.id, workspaces.orgId))
    .where(and(eq(workspaces.platform, platform), eq(workspaces.externalId, externalId)))
    .limit(1);
  return row?.organisation;
}

export async function insertWorkspace(
  orm: Orm,
  input: { orgId: bigint; platform: IdentityPlatform; externalId: string },
): Promise<void> {
  await orm.insert(workspaces).values(input).onConflictDoNothing();
}

/** A member's own fields as inserted; the email is stored lower-cased. */
export interface MemberFields {
  orgId: bigint;
  displayName: string;
  email?: string | null;
  timeZone?: string | null;
  role?: MemberRole;
  managerId?: bigint | null;
  isBot?: boolean;
}

export async function insertMember(orm: Orm, input: MemberFields): Promise<Member> {
  const [row] = await orm
    .insert(members)
    .values({ ...input, email: input.email ? input.email.toLowerCase() : null })
    .returning();
  return row!;
}

export async function findMember(orm: Orm, orgId: bigint, memberId: bigint): Promise<Member | undefined> {
  const [row] = await orm
    .select()
    .from(members)
    .where(and(eq(members.orgId, orgId), eq(members.id, memberId)))
    .limit(1);
  return row;
}

export async function findMembers(orm: Orm, orgId: bigint, memberIds: bigint[]): Promise<Member[]> {
  if (memberIds.length === 0) return [];
  return orm
    .select()
    .from(members)
    .where(and(eq(members.orgId, orgId), inArray(members.id, memberIds.slice(0, membersListMax))));
}

export async function findMemberByEmail(orm: Orm, orgId: bigint, email: string): Promise<Member | undefined> {
  const [row] = await orm
    .select()
    .from(members)
    .where(and(eq(members.orgId, orgId), eq(members.email, email.toLowerCase())))
    .limit(1);
  return row;
}

export async function findMemberByIdentity(
  orm: Orm,
  orgId: bigint,
  platform: IdentityPlatform,
  externalId: string,
): Promise<Member | undefined> {
  const [row] = await orm
    .select({ member: members })
    .from(memberIdentities)
    .innerJoin(members, and(eq(members.orgId, memberIdentities.orgId), eq(members.id, memberIdentities.memberId)))
    .where(
      and(
        eq(memberIdentities.orgId, orgId),
        eq(memberIdentities.platform, platform),
        eq(memberIdentities.externalId, externalId),
      ),
    )
    .limit(1);
  return row?.member;
}

export async function listIdentities(orm: Orm, orgId: bigint, memberId: bigint): Promise<MemberIdentity[]> {
  return orm
    .select()
    .from(memberIdentities)
    .where(and(eq(memberIdentities.orgId, orgId), eq(memberIdentities.memberId, memberId)))
    .limit(10);
}

export async function insertIdentity(
  orm: Orm,
  input: {
    orgId: bigint;
    platform: IdentityPlatform;
    externalId: string;
    workspaceId: string;
    memberId: bigint;
    details?: Record<string, unknown>;
  },
): Promise<void> {
  await orm.insert(memberIdentities).values(input).onConflictDoNothing();
}

export async function updateMember(
  orm: Orm,
  orgId: bigint,
  memberId: bigint,
  changes: Partial<
    Pick<
      Member,
      'role' | 'managerId' | 'displayName' | 'email' | 'timeZone' | 'isActive' | 'isBot' | 'leaderboardOptOut'
    >
  >,
): Promise<Member | undefined> {
  const [row] = await orm
    .update(members)
    .set(changes)
    .where(and(eq(members.orgId, orgId), eq(members.id, memberId)))
    .returning();
  return row;
}

export async function listMembersByRole(orm: Orm, orgId: bigint, role: MemberRole): Promise<Member[]> {
  return orm
    .select()
    .from(members)
    .where(and(eq(members.orgId, orgId), eq(members.role, role), eq(members.isActive, true)))
    .orderBy(asc(members.id))
    .limit(membersListMax);
}

export async function listReports(orm: Orm, orgId: bigint, managerId: bigint): Promise<Member[]> {
  return orm
    .select()
    .from(members)
    .where(and(eq(members.orgId, orgId), eq(members.managerId, managerId)))
    .orderBy(asc(members.id))
    .limit(membersListMax);
}

export async function listMembers(orm: Orm, orgId: bigint): Promise<Member[]> {
  return orm.select().from(members).where(eq(members.orgId, orgId)).orderBy(asc(members.id)).limit(membersListMax);
}

/** True when `ancestorId` is `memberId` or above it in the reporting line (bounded walk). */
export async function isInReportingLine(
  orm: Orm,
  orgId: bigint,
  memberId: bigint,
  ancestorId: bigint,
): Promise<boolean> {
  const rows = await orm.execute(sql`
    WITH RECURSIVE chain(id, manager_id, depth) AS (
      SELECT id, manager_id, 0 FROM members WHERE org_id = ${orgId} AND id = ${memberId}
      UNION ALL
      SELECT m.id, m.manager_id, c.depth + 1 FROM members m JOIN chain c ON m.org_id = ${orgId} AND m.id = c.manager_id
       WHERE c.depth < 64
    )
    SELECT 1 AS found FROM chain WHERE id = ${ancestorId} LIMIT 1`);
  const list = Array.isArray(rows) ? rows : (rows as { rows: unknown[] }).rows;
  return list.length > 0;
}

export async function insertAudit(
  orm: Orm,
  input: {
    orgId: bigint;
    actorMemberId: bigint | null;
    platform: string;
    action: string;
    details?: Record<string, unknown>;
    at?: Date;
  },
): Promise<void> {
  await orm.insert(auditLog).values({ ...input, details: jsonSafe(input.details ?? {}) as Record<string, unknown> });
}

/** An audit row for something an actor did: who and from which platform come from the actor itself. */
export async function insertActorAudit(
  orm: Orm,
  input: { orgId: bigint; actor: Actor; action: string; details?: Record<string, unknown>; at: Date },
): Promise<void> {
  await insertAudit(orm, {
    orgId: input.orgId,
    actorMemberId: actorMemberId(input.actor),
    platform: input.actor.platform,
    action: input.action,
    details: input.details,
    at: input.at,
  });
}

/** jsonb cannot hold a bigint: ids and amounts are written as decimal strings. */
function jsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, jsonSafe(item)]));
  }
  return value;
}

/** Organisations in the database (`allot status`). */
export async function countOrganisations(orm: Orm): Promise<number> {
  const [row] = await orm.select({ count: sql<string>`count(*)::text` }).from(organisations);
  return Number(row?.count ?? 0);
}

/** Audit rows looked at to find who last changed whether a member is active (newest first). */
const activeStateHistoryMax = 50;

/**
 * Who last switched a member on or off: 'operator' (allot member deactivate/reactivate), 'platform'
 * (a chat platform's news, e.g. Slack's user_change), or undefined if nobody ever did.
 */
export async function lastActiveStateChange(
  orm: Orm,
  orgId: bigint,
  memberId: bigint,
): Promise<'operator' | 'platform' | undefined> {
  const rows = await orm
    .select({ action: auditLog.action, details: auditLog.details })
    .from(auditLog)
    .where(
      and(
        eq(auditLog.orgId, orgId),
        inArray(auditLog.action, ['member.deactivate', 'member.reactivate', 'member.refresh']),
        sql`${auditLog.details}->>'memberId' = ${memberId.toString()}`,
      ),
    )
    .orderBy(desc(auditLog.id))
    .limit(activeStateHistoryMax);
  for (const row of rows) {
    if (row.action !== 'member.refresh') return 'operator';
    const changes = row.details.changes as Record<string, unknown> | undefined;
    if (changes && 'isActive' in changes) return 'platform';
  }
  return undefined;
}
