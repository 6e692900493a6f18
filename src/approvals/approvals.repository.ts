import { and, asc, desc, eq, inArray, isNull, lte, or, sql } from 'drizzle-orm';
import type { Orm } from '../db/client';
import { approvalMessages, type TopUpRequestState, topUpRequests } from './approvals.tables';

export type TopUpRequest = typeof topUpRequests.$inferSelect;

declare module '../lib/failures' {
  interface FailureDetails {
    request_expired: { request: TopUpRequest };
    requester_inactive: { request: TopUpRequest };
    request_already_decided: { request: TopUpRequest; state?: TopUpRequest['state']; decidedById?: bigint | null };
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
    idempotencyKey: string;
    createdAt: Date;
    expiresAt: Date;
  },
): Promise<TopUpRequest | undefined> {
  const [row] = await orm.insert(topUpRequests).values(input).onConflictDoNothing().returning();
  return row;
}

export async function findRequest(orm: Orm, orgId: bigint, requestId: bigint): Promise<TopUpRequest | undefined> {
  const [row] = await orm
    .select()
    .from(topUpRequests)
    .where(and(eq(topUpRequests.orgId, orgId), eq(topUpRequests.id, requestId)))
    .limit(1);
  return row;
}

export async function findRequestByKey(
  orm: Orm,
  orgId: bigint,
  idempotencyKey: string,
): Promise<TopUpRequest | undefined> {
  const [row] = await orm
    .select()
    .from(topUpRequests)
    .where(and(eq(topUpRequests.orgId, orgId), eq(topUpRequests.idempotencyKey, idempotencyKey)))
    .limit(1);
  return row;
}

/** Moves a pending request to its final state; returns nothing when it was no longer pending. */
export async function closePendingRequest(
  orm: Orm,
  input: {
    orgId: bigint;
    requestId: bigint;
    state: Exclude<TopUpRequestState, 'pending'>;
    decidedAt: Date;
    decidedById: bigint | null;
    decisionNote?: string | null;
  },
): Promise<TopUpRequest | undefined> {
  const [row] = await orm
    .update(topUpRequests)
    .set({
      state: input.state,
      decidedAt: input.decidedAt,
      decidedById: input.decidedById,
      decisionNote: input.decisionNote ?? null,
    })
    .where(
      and(
        eq(topUpRequests.orgId, input.orgId),
        eq(topUpRequests.id, input.requestId),
        eq(topUpRequests.state, 'pending'),
      ),
    )
    .returning();
  return row;
}

export async function setRequestTransfer(orm: Orm, orgId: bigint, requestId: bigint, transferId: bigint) {
  const [row] = await orm
    .update(topUpRequests)
    .set({ transferId })
    .where(and(eq(topUpRequests.orgId, orgId), eq(topUpRequests.id, requestId)))
    .returning();
  return row!;
}

export async function countPendingByRequester(orm: Orm, orgId: bigint, requesterId: bigint): Promise<number> {
  const [row] = await orm
    .select({ count: sql<number>`count(*)::int` })
    .from(topUpRequests)
    .where(
      and(
        eq(topUpRequests.orgId, orgId),
        eq(topUpRequests.requesterId, requesterId),
        eq(topUpRequests.state, 'pending'),
      ),
    );
  return Number(row?.count ?? 0);
}

/** A member's own requests, newest first. */
export async function listRequestsByRequester(
  orm: Orm,
  input: { orgId: bigint; requesterId: bigint; states?: TopUpRequestState[]; limit: number },
): Promise<TopUpRequest[]> {
  const conditions = [eq(topUpRequests.orgId, input.orgId), eq(topUpRequests.requesterId, input.requesterId)];
  if (input.states) conditions.push(inArray(topUpRequests.state, input.states));
  return orm
    .select()
    .from(topUpRequests)
    .where(and(...conditions))
    .orderBy(desc(topUpRequests.id))
    .limit(Math.min(input.limit, requestsListMax));
}

/** Pending requests waiting for this approver; with `includeAdminQueue`, also those sent to the admins. */
export async function listPendingForApprover(
  orm: Orm,
  input: { orgId: bigint; approverId: bigint; includeAdminQueue: boolean; limit: number },
): Promise<TopUpRequest[]> {
  const who = input.includeAdminQueue
    ? or(eq(topUpRequests.approverId, input.approverId), isNull(topUpRequests.approverId))!
    : eq(topUpRequests.approverId, input.approverId);
  return orm
    .select()
    .from(topUpRequests)
    .where(and(eq(topUpRequests.orgId, input.orgId), eq(topUpRequests.state, 'pending'), who))
    .orderBy(asc(topUpRequests.id))
    .limit(Math.min(input.limit, requestsListMax));
}

/** Marks pending requests past their expiry as expired, at most `limit` of them, and returns them. */
/** An organisation's pending requests, oldest first, at most `limit` (the CLI's `request list`). */
export async function listPendingRequests(orm: Orm, input: { orgId: bigint; limit: number }): Promise<TopUpRequest[]> {
  return orm
    .select()
    .from(topUpRequests)
    .where(and(eq(topUpRequests.orgId, input.orgId), eq(topUpRequests.state, 'pending')))
    .orderBy(asc(topUpRequests.id))
    .limit(Math.min(input.limit, requestsListMax));
}

export async function expireDueRequests(
  orm: Orm,
  input: { now: Date; limit: number; orgId?: bigint },
): Promise<TopUpRequest[]> {
  const due = orm
    .select({ orgId: topUpRequests.orgId, id: topUpRequests.id })
    .from(topUpRequests)
    .where(
      and(
        eq(topUpRequests.state, 'pending'),
        lte(topUpRequests.expiresAt, input.now),
        input.orgId === undefined ? sql`true` : eq(topUpRequests.orgId, input.orgId),
      ),
    )
    .orderBy(asc(topUpRequests.expiresAt))
    .limit(Math.min(input.limit, requestsListMax));
  return orm
    .update(topUpRequests)
    .set({ state: 'expired', decidedAt: input.now, decidedById: null })
    .where(and(sql`(${topUpRequests.orgId}, ${topUpRequests.id}) in ${due}`, eq(topUpRequests.state, 'pending')))
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
