import { and, desc, eq, sql } from 'drizzle-orm';
import type { Orm } from '../db/client';
import { memberIdentities } from '../members/members.tables';
import { type TeamsConversationType, teamsConversations } from './teams.tables';

export type TeamsConversation = typeof teamsConversations.$inferSelect;

/** Saves (or refreshes) a conversation reference; seeing the conversation again makes it reachable again. */
export async function upsertConversation(
  orm: Orm,
  input: {
    orgId: bigint;
    conversationId: string;
    conversationType: TeamsConversationType;
    tenantId: string;
    reference: Record<string, unknown>;
    serviceUrl: string;
    memberAadObjectId: string | null;
    teamId: string | null;
    at: Date;
  },
): Promise<void> {
  await orm
    .insert(teamsConversations)
    .values({ ...input, reachable: true, unreachableReason: null, updatedAt: input.at })
    .onConflictDoUpdate({
      target: [teamsConversations.orgId, teamsConversations.conversationId],
      set: {
        conversationType: input.conversationType,
        reference: input.reference,
        serviceUrl: input.serviceUrl,
        // A group chat or channel keeps no single member; a personal chat keeps its person.
        memberAadObjectId: input.memberAadObjectId,
        teamId: input.teamId,
        reachable: true,
        unreachableReason: null,
        updatedAt: input.at,
      },
    });
}

export async function findConversation(
  orm: Orm,
  orgId: bigint,
  conversationId: string,
): Promise<TeamsConversation | undefined> {
  const [row] = await orm
    .select()
    .from(teamsConversations)
    .where(and(eq(teamsConversations.orgId, orgId), eq(teamsConversations.conversationId, conversationId)))
    .limit(1);
  return row;
}

/** The most recently seen personal chat with a person, reachable or not (the caller decides). */
export async function findPersonalConversation(
  orm: Orm,
  orgId: bigint,
  aadObjectId: string,
): Promise<TeamsConversation | undefined> {
  const [row] = await orm
    .select()
    .from(teamsConversations)
    .where(
      and(
        eq(teamsConversations.orgId, orgId),
        eq(teamsConversations.memberAadObjectId, aadObjectId),
        eq(teamsConversations.conversationType, 'personal'),
      ),
    )
    .orderBy(desc(teamsConversations.updatedAt))
    .limit(1);
  return row;
}

/** Any conversation of the organisation, newest first: its service URL and bot account start a new 1:1 chat. */
export async function findLatestConversation(orm: Orm, orgId: bigint): Promise<TeamsConversation | undefined> {
  const [row] = await orm
    .select()
    .from(teamsConversations)
    .where(eq(teamsConversations.orgId, orgId))
    .orderBy(desc(teamsConversations.updatedAt))
    .limit(1);
  return row;
}

export async function markUnreachable(
  orm: Orm,
  input: { orgId: bigint; conversationId: string; reason: string; at: Date },
): Promise<void> {
  await orm
    .update(teamsConversations)
    .set({ reachable: false, unreachableReason: input.reason.slice(0, 500), updatedAt: input.at })
    .where(and(eq(teamsConversations.orgId, input.orgId), eq(teamsConversations.conversationId, input.conversationId)));
}

/**
 * The Entra object id of a Teams user known by their 29: id (kept in the identity's details), so a
 * person mentioned again is not looked up at Teams again. Scans one organisation's Teams identities.
 */
export async function findAadObjectIdByUserId(orm: Orm, orgId: bigint, userId: string): Promise<string | undefined> {
  const [row] = await orm
    .select({ externalId: memberIdentities.externalId })
    .from(memberIdentities)
    .where(
      and(
        eq(memberIdentities.orgId, orgId),
        eq(memberIdentities.platform, 'teams'),
        sql`${memberIdentities.details} ->> 'userId' = ${userId}`,
      ),
    )
    .limit(1);
  return row?.externalId;
}
