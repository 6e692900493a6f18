import { and, asc, desc, eq, inArray, isNull, lte, or, sql } from 'drizzle-orm';
import type { Orm } from '../db/client';
import { approvalMessages, type TopupRequestState, topupRequests } from './approvals.tables';

export type TopupRequest = typeof topupRequests.$inferSelect;

declare module '../lib/failures' {
  interface FailureDetails {
    request_expired: { request: TopupRequest };
    requester_inactive: { request: TopupRequest };
    request_already_decided: { request: TopupRequest; state?: TopupRequest['state']; decidedById?: bigint | null };
  }
}
export type ApprovalMessage = typeof approvalMessages.$inferSelect;

/** Bound on requests listed in one read (a member's own, a manager's queue, one expiry sweep). */
export const requestsListMax = 500;

export async function insertRequest(
  orm: Orm,
  input: {
    orgId: bigint;
    requesterId: bigint;
    amount: bigint;
    reason: string;
    approverId: bigint | null;
    requestKey: string;
    createdAt: Date;
    expiresAt: Date;
  },
): Promise<TopupRequest | undefined> {
  const [row] = await orm.insert(topupRequests).values(input).onConflictDoNothing().returning();
  return row;
}

export async function findRequest(orm: Orm, orgId: bigint, requestId: bigint): Promise<TopupRequest | undefined> {
  const [row] = await orm
    .select()
    .from(topupRequests)
    .where(and(eq(topupRequests.orgId, orgId), eq(topupRequests.id, requestId)))
    .limit(1);
  return row;
}

export async function findRequestByKey(orm: Orm, orgId: bigint, requestKey: string): Promise<TopupRequest | undefined> {
  const [row] = await orm
    .select()
    .from(topupRequests)
    .where(and(eq(topupRequests.orgId, orgId), eq(topupRequests.requestKey, requestKey)))
    .limit(1);
  return row;
}

/** Moves a pending request to its final state; returns nothing when it was no longer pending. */
export async function closePendingRequest(
  orm: Orm,
  input: {
    orgId: bigint;
    requestId: bigint;
    state: Exclude<TopupRequestState, 'pending'>;
    decidedAt: Date;
    decidedById: bigint | null;
    decisionNote?: string | null;
  },
): Promise<TopupRequest | undefined> {
  const [row] = await orm
    .update(topupRequests)
    .set({
      state: input.state,
      decidedAt: input.decidedAt,
      decidedById: input.decidedById,
      decisionNote: input.decisionNote ?? null,
    })
    .where(
      and(
        eq(topupRequests.orgId, input.orgId),
        eq(topupRequests.id, input.requestId),
        eq(topupRequests.state, 'pending'),
      ),
    )
    .returning();
  return row;
}

export async function setRequestTransfer(orm: Orm, orgId: bigint, requestId: bigint, transferId: bigint) {
  const [row] = await orm
    .update(topupRequests)
    .set({ transferId })
    .where(and(eq(topupRequests.orgId, orgId), eq(topupRequests.id, requestId)))
    .returning();
  return row!;
}

export async function countPendingByRequester(orm: Orm, orgId: bigint, requesterId: bigint): Promise<number> {
  const [row] = await orm
    .select({ count: sql<number>`count(*)::int` })
    .from(topupRequests)
    .where(
      and(
        eq(topupRequests.orgId, orgId),
        eq(topupRequests.requesterId, requesterId),
        eq(topupRequests.state, 'pending'),
      ),
    );
  return Number(row?.count ?? 0);
}

/** A member's own requests, newest first. */
export async function listRequestsByRequester(
  orm: Orm,
  input: { orgId: bigint; requesterId: bigint; states?: TopupRequestState[]; limit: number },
): Promise<TopupRequest[]> {
  const conditions = [eq(topupRequests.orgId, input.orgId), eq(topupRequests.requesterId, input.requesterId)];
  if (input.states) conditions.push(inArray(topupRequests.state, input.states));
  return orm
    .select()
    .from(topupRequests)
    .where(and(...conditions))
    .orderBy(desc(topupRequests.id))
    .limit(Math.min(input.limit, requestsListMax));
}

/** Pending requests waiting for this approver; with `includeAdminQueue`, also those sent to the admins. */
export async function listPendingForApprover(
  orm: Orm,
  input: { orgId: bigint; approverId: bigint; includeAdminQueue: boolean; limit: number },
): Promise<TopupRequest[]> {
  const who = input.includeAdminQueue
    ? or(eq(topupRequests.approverId, input.approverId), isNull(topupRequests.approverId))!
    : eq(topupRequests.approverId, input.approverId);
  return orm
    .select()
    .from(topupRequests)
    .where(and(eq(topupRequests.orgId, input.orgId), eq(topupRequests.state, 'pending'), who))
    .orderBy(asc(topupRequests.id))
    .limit(Math.min(input.limit, requestsListMax));
}

/** Marks pending requests past their expiry as expired, at most `limit` of them, and returns them. */
export async function expireDueRequests(
  orm: Orm,
  input: { now: Date; limit: number; orgId?: bigint },
): Promise<TopupRequest[]> {
  const due = orm
    .select({ orgId: topupRequests.orgId, id: topupRequests.id })
    .from(topupRequests)
    .where(
      and(
        eq(topupRequests.state, 'pending'),
        lte(topupRequests.expiresAt, input.now),
        input.orgId === undefined ? sql`true` : eq(topupRequests.orgId, input.orgId),
      ),
    )
    .orderBy(asc(topupRequests.expiresAt))
    .limit(Math.min(input.limit, requestsListMax));
  return orm
    .update(topupRequests)
    .set({ state: 'expired', decidedAt: input.now, decidedById: null })
    .where(and(sql`(${topupRequests.orgId}, ${topupRequests.id}) in ${due}`, eq(topupRequests.state, 'pending')))
    .returning();
}

export async function insertApprovalMessage(
  orm: Orm,
  input: {
    orgId: bigint;
    requestId: bigint;
    memberId: bigint;
    platform: 'slack' | 'teams';
    ref: Record<string, string>;
  },
): Promise<void> {
  await orm
    .insert(approvalMessages)
    .values(input)
    .onConflictDoUpdate({
      target: [
        approvalMessages.orgId,
        approvalMessages.requestId,
        approvalMessages.memberId,
        approvalMessages.platform,
      ],
      set: { ref: input.ref },
    });
}

export async function listApprovalMessages(orm: Orm, orgId: bigint, requestId: bigint): Promise<ApprovalMessage[]> {
  return orm
    .select()
    .from(approvalMessages)
    .where(and(eq(approvalMessages.orgId, orgId), eq(approvalMessages.requestId, requestId)))
    .limit(50);
}
