import type { Orm } from '../db/client';
import { type ExpiryFailure, type ResolvedExpiry, resolveExpiry } from '../ledger/expiry-terms.usecases';
import { cleanMemo, isValidAmount } from '../ledger/ledger.models';
import * as ledgerRepo from '../ledger/ledger.repository';
import { topUp } from '../ledger/ledger.usecases';
import type { Clock } from '../lib/clock';
import { type Actor, type Ctx, operatorActor, type Platform, platforms } from '../lib/context';
import { withRetries } from '../lib/db-errors';
import type { ExpiryInput } from '../lib/expiry.models';
import { type Failure, fail, ok, type Result } from '../lib/result';
import type { Member } from '../members/members.repository';
import * as membersRepo from '../members/members.repository';
import { isActiveAdmin, mayHoldBudget } from '../members/roles.models';
import {
  adminApproversMax,
  pendingRequestsPerMemberMax,
  requestExpiryMsDefault,
  topUpKeyForRequest,
} from './approvals.models';
import type { TopUpRequest } from './approvals.repository';
import * as approvalsRepo from './approvals.repository';

/** The member acting on a request (approvals are made by people, on a chat platform or the CLI as a member). */
export interface RequestActor {
  memberId: bigint;
  platform: string;
}

/** Who decides a request: a member, or an operator at the `allot` CLI, who decides as an admin does. */
export type DecidingActor = RequestActor | { operator: true };

// ---------------------------------------------------------------------------------------------
// request

export type RequestTopUpFailure =
  | 'amount_invalid'
  | 'member_not_found'
  | 'member_inactive'
  | 'no_approver'
  | 'too_many_pending';

export interface RequestedTopUp {
  request: TopUpRequest;
  /** Who is asked to decide: the requester's manager, else the admins. */
  approvers: Member[];
  /** False when this key had already created the request (a redelivery): nobody should be asked twice. */
  created: boolean;
}

export async function requestTopUp(
  ctx: Ctx,
  input: {
    orgId: bigint;
    actor: RequestActor;
    amount: bigint;
    reason?: string;
    idempotencyKey: string;
    expiryMs?: number;
  },
): Promise<Result<RequestedTopUp, RequestTopUpFailure>> {
  if (!isValidAmount(input.amount)) return fail('amount_invalid');
  const requester = await membersRepo.findMember(ctx.db.orm, input.orgId, input.actor.memberId);
  if (!requester) return fail('member_not_found');
  // A deactivated member receives nothing, so asking is refused by name rather than queued for nobody.
  if (!requester.isActive) return fail('member_inactive');
  const existing = await approvalsRepo.findRequestByKey(ctx.db.orm, input.orgId, input.idempotencyKey);
  if (existing) return ok({ request: existing, approvers: await approversOf(ctx, existing), created: false });

  const manager = requester.managerId
    ? await membersRepo.findMember(ctx.db.orm, input.orgId, requester.managerId)
    : undefined;
  const managerCanDecide = mayHoldBudget(manager);
  const approverId = managerCanDecide ? manager!.id : null;
  if (approverId === null && (await adminApprovers(ctx, input.orgId, requester.id)).length === 0) {
    return fail('no_approver');
  }
  if (
    (await approvalsRepo.countPendingByRequester(ctx.db.orm, input.orgId, requester.id)) >= pendingRequestsPerMemberMax
  ) {
    return fail('too_many_pending', { max: pendingRequestsPerMemberMax });
  }
  const now = ctx.clock.now();
  const reason = cleanMemo(input.reason);
  const created = await withRetries(() =>
    ctx.db.orm.transaction(async (tx) => {
      const row = await approvalsRepo.insertRequest(tx, {
        orgId: input.orgId,
        requesterId: requester.id,
        amount: input.amount,
        reason,
        approverId,
        idempotencyKey: input.idempotencyKey,
        createdAt: now,
        expiresAt: new Date(now.getTime() + (input.expiryMs ?? requestExpiryMsDefault)),
      });
      if (!row) return undefined;
      await membersRepo.insertAudit(tx, {
        orgId: input.orgId,
        actorMemberId: requester.id,
        platform: input.actor.platform,
        action: 'topup_request.create',
        details: { requestId: row.id, amount: input.amount, approverId },
        at: now,
      });
      return row;
    }),
  );
  // A concurrent twin with the same key won the insert: answer with its request, created once.
  const request = created ?? (await approvalsRepo.findRequestByKey(ctx.db.orm, input.orgId, input.idempotencyKey))!;
  return ok({ request, approvers: await approversOf(ctx, request), created: created !== undefined });
}

async function adminApprovers(ctx: Ctx, orgId: bigint, requesterId: bigint): Promise<Member[]> {
  const admins = await membersRepo.listMembersByRole(ctx.db.orm, orgId, 'admin');
  return admins.filter((admin) => admin.id !== requesterId && !admin.isBot).slice(0, adminApproversMax);
}

/** The people asked to decide a request. */
export async function approversOf(ctx: Ctx, request: TopUpRequest): Promise<Member[]> {
  if (request.approverId !== null) {
    const manager = await membersRepo.findMember(ctx.db.orm, request.orgId, request.approverId);
    return manager ? [manager] : [];
  }
  return adminApprovers(ctx, request.orgId, request.requesterId);
}

// ---------------------------------------------------------------------------------------------
// decide

export type DecideFailure =
  | 'request_not_found'
  | 'not_the_approver'
  | 'request_already_decided'
  | 'request_expired'
  | 'requester_inactive'
  | ExpiryFailure
  | 'exceeds_budget';

export interface Decided {
  request: TopUpRequest;
  /** The top-up transfer of an approval. */
  transferId: bigint | null;
  fundedFrom: 'budget' | 'treasury' | null;
  /** When the approved tokens expire (an approval only). */
  expiry: ResolvedExpiry | null;
}

class RollbackWith extends Error {
  constructor(readonly failure: Failure<DecideFailure>) {
    super(failure.failure);
  }
}

/** A decision on a request; `note`: the reason of a denial; `expiry`: of an approval's tokens. */
export interface DecideInput {
  orgId: bigint;
  actor: DecidingActor;
  requestId: bigint;
  decision: 'approve' | 'deny';
  note?: string;
  expiry?: ExpiryInput;
}

/**
 * Approves or denies a pending request. The conditional update `WHERE state = 'pending'` and the top-up
 * run in one transaction, and the top-up's key comes from the request id, so racing clicks produce
 * exactly one outcome and at most one transfer. An approval the approver's budget cannot pay is refused
 * and leaves the request pending. Failures of `request_already_decided` carry the outcome and who decided.
 * `expiry` (an approval; as typed, default: the organisation's) says when the requester's tokens expire,
 * in their zone; one in the past or too far ahead is refused and leaves the request pending.
 */
export async function decideRequest(ctx: Ctx, input: DecideInput): Promise<Result<Decided, DecideFailure>> {
  const operator = 'operator' in input.actor;
  const actor =
    'operator' in input.actor ? undefined : await membersRepo.findMember(ctx.db.orm, input.orgId, input.actor.memberId);
  const platform = 'operator' in input.actor ? 'cli' : input.actor.platform;
  return withRetries(async () => {
    try {
      return await ctx.db.orm.transaction(async (tx): Promise<Result<Decided, DecideFailure>> => {
        const request = await approvalsRepo.findRequest(tx, input.orgId, input.requestId);
        if (!request) return fail('request_not_found');
        const isAdmin = operator || isActiveAdmin(actor);
        const isApprover = actor?.isActive && request.approverId === actor.id;
        if (!operator && (!actor || actor.id === request.requesterId || !(isAdmin || isApprover))) {
          return fail('not_the_approver', { approverId: request.approverId });
        }
        if (request.state !== 'pending') return alreadyClosed(request);
        const now = ctx.clock.now();
        // A request past its time is refused here but closed only by expireRequests, which also tells
        // the requester and edits the approval messages: one writer for the 'expired' state.
        if (request.expiresAt.getTime() <= now.getTime()) return fail('request_expired', { request });
        const expiry =
          input.decision === 'approve'
            ? await prepareApproval(tx, ctx.clock, { orgId: input.orgId, request, expiry: input.expiry })
            : null;
        if (expiry && !expiry.ok) return expiry;
        const closed = await approvalsRepo.closePendingRequest(tx, {
          orgId: input.orgId,
          requestId: request.id,
          state: input.decision === 'approve' ? 'approved' : 'denied',
          decidedAt: now,
          decidedById: actor?.id ?? null,
          decisionNote: input.decision === 'deny' ? cleanMemo(input.note) || null : null,
        });
        if (!closed) {
          // Another decision committed between our read and our update: report what it was.
          const current = await approvalsRepo.findRequest(tx, input.orgId, request.id);
          return alreadyClosed(current ?? request);
        }
        let transferId: bigint | null = null;
        let fundedFrom: Decided['fundedFrom'] = null;
        let result = closed;
        if (input.decision === 'approve') {
          fundedFrom = isAdmin ? 'treasury' : 'budget';
          const payer = isAdmin ? null : (actor ?? null);
          transferId = await payApproval(tx, {
            orgId: input.orgId,
            request,
            actor,
            payer,
            platform,
            expiry: expiry?.value,
          });
          if (transferId !== null)
            result = await approvalsRepo.setRequestTransfer(tx, input.orgId, request.id, transferId);
        }
        await membersRepo.insertAudit(tx, {
          orgId: input.orgId,
          actorMemberId: actor?.id ?? null,
          platform,
          action: input.decision === 'approve' ? 'topup_request.approve' : 'topup_request.deny',
          details: { requestId: request.id, transferId, note: result.decisionNote },
          at: now,
        });
        return ok({ request: result, transferId, fundedFrom, expiry: expiry?.value ?? null });
      });
    } catch (error) {
      if (error instanceof RollbackWith) return error.failure;
      throw error;
    }
  });
}

/**
 * What an approval needs before the request closes: a requester still active (one deactivated since
 * asking receives nothing; the request stays pending for a denial), and the expiry of their tokens.
 */
async function prepareApproval(
  tx: Orm,
  clock: Clock,
  input: { orgId: bigint; request: TopUpRequest; expiry?: ExpiryInput },
): Promise<Result<ResolvedExpiry, 'requester_inactive' | ExpiryFailure>> {
  const requester = await membersRepo.findMember(tx, input.orgId, input.request.requesterId);
  if (!requester?.isActive) return fail('requester_inactive', { request: input.request });
  return resolveExpiry(tx, clock, { orgId: input.orgId, memberIds: [input.request.requesterId], expiry: input.expiry });
}

/**
 * Pays an approved request: the top-up from `payer`'s budget (null: the treasury), keyed by the request.
 * A budget that cannot pay rolls the whole decision back (RollbackWith exceeds_budget). The transfer id.
 */
async function payApproval(
  tx: Orm,
  input: {
    orgId: bigint;
    request: TopUpRequest;
    /** Who decided; undefined for an operator at the CLI. */
    actor: Member | undefined;
    payer: Member | null;
    platform: string;
    expiry: ResolvedExpiry | undefined;
  },
): Promise<bigint | null> {
  const { request } = input;
  const by: Actor = input.actor
    ? { kind: 'member', memberId: input.actor.id, platform: platformOf(input.platform) }
    : operatorActor;
  const topped = await topUp(tx, {
    orgId: input.orgId,
    actor: by,
    fromMemberId: input.payer?.id ?? null,
    toMemberId: request.requesterId,
    amount: request.amount,
    memo: request.reason ? `top-up request ${request.id}: ${request.reason}` : `top-up request ${request.id}`,
    idempotencyKey: topUpKeyForRequest(request.id),
    expiry: input.expiry,
  });
  if (!topped.ok) {
    const budget = input.payer ? await ledgerRepo.findAccount(tx, input.orgId, 'budget', input.payer.id) : null;
    throw new RollbackWith(fail('exceeds_budget', { budget: budget?.balance, amount: request.amount }));
  }
  return topped.value.transferIds[0] ?? null;
}

function alreadyClosed(request: TopUpRequest): Failure<DecideFailure> {
  if (request.state === 'expired') return fail('request_expired', { request });
  return fail('request_already_decided', { request, state: request.state, decidedById: request.decidedById });
}

function platformOf(platform: string): Platform {
  return platforms.find((known) => known === platform) ?? 'system';
}

// ---------------------------------------------------------------------------------------------
// cancel and expire

export type CancelFailure = 'request_not_found' | 'not_the_requester' | 'request_already_decided' | 'request_expired';

/** The requester withdraws a request while it is still pending. */
export async function cancelRequest(
  ctx: Ctx,
  input: { orgId: bigint; actor: RequestActor; requestId: bigint },
): Promise<Result<TopUpRequest, CancelFailure>> {
  const request = await approvalsRepo.findRequest(ctx.db.orm, input.orgId, input.requestId);
  if (!request) return fail('request_not_found');
  if (request.requesterId !== input.actor.memberId) return fail('not_the_requester');
  const now = ctx.clock.now();
  if (request.state === 'pending' && request.expiresAt.getTime() <= now.getTime()) {
    return fail('request_expired', { request });
  }
  return withRetries(() =>
    ctx.db.orm.transaction(async (tx): Promise<Result<TopUpRequest, CancelFailure>> => {
      const cancelled = await approvalsRepo.closePendingRequest(tx, {
        orgId: input.orgId,
        requestId: request.id,
        state: 'cancelled',
        decidedAt: now,
        decidedById: input.actor.memberId,
      });
      if (!cancelled) {
        const current = (await approvalsRepo.findRequest(tx, input.orgId, request.id)) ?? request;
        return current.state === 'expired'
          ? fail('request_expired', { request: current })
          : fail('request_already_decided', {
              request: current,
              state: current.state,
              decidedById: current.decidedById,
            });
      }
      await membersRepo.insertAudit(tx, {
        orgId: input.orgId,
        actorMemberId: input.actor.memberId,
        platform: input.actor.platform,
        action: 'topup_request.cancel',
        details: { requestId: request.id },
        at: now,
      });
      return ok(cancelled);
    }),
  );
}

/** Expires pending requests whose time is up (at most `limit` per call) and returns them. */
export async function expireRequests(
  ctx: Ctx,
  input: { limit?: number; orgId?: bigint } = {},
): Promise<TopUpRequest[]> {
  return withRetries(() =>
    approvalsRepo.expireDueRequests(ctx.db.orm, {
      now: ctx.clock.now(),
      limit: input.limit ?? approvalsRepo.requestsListMax,
      orgId: input.orgId,
    }),
  );
}
