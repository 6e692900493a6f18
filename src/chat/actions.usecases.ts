import type { TopUpRequest } from '../approvals/approvals.repository';
import * as approvalsRepo from '../approvals/approvals.repository';
import { cancelRequest, decideRequest, expireRequests } from '../approvals/approvals.usecases';
import { getBalances } from '../ledger/ledger.usecases';
import type { ExpiryInput } from '../lib/expiry.models';
import * as membersRepo from '../members/members.repository';
import type { ChatMessage } from '../notify/message.models';
import type { SendOutcome } from '../notify/notifier';
import type { ChatDeps, ChatOutcome, DeliveryReport, RunActionInput } from './chat.models';
import { dashboardLinkActionId } from './dashboard.replies';
import { dashboardLinkOutcome } from './dashboard.usecases';
import { decideOperation } from './operations.usecases';
import { deliver, expiryRefusalOf, refusal, withDeliveryProblems } from './outcomes.usecases';
import {
  actionIds,
  approvalCard,
  cancelConfirmation,
  decisionConfirmation,
  decisionNotice,
  type MemberRef,
} from './replies.models';
import { refOf } from './summary.usecases';

// Clicks on the buttons chat sends (Approve, Deny and Cancel under a top-up request; Confirm and
// Cancel under a large operation's question) and the sweep that expires requests nobody decided.

const requestIdPattern = /^[0-9]{1,18}$/;

export async function runAction(deps: ChatDeps, input: RunActionInput): Promise<ChatOutcome> {
  try {
    const { platform } = input;
    // Confirmation questions and sign-in links live in chat only; the dashboard clicks requests' buttons.
    if (input.actionId === actionIds.confirmOperation || input.actionId === actionIds.cancelOperation) {
      if (platform === 'web') return refusal('unknown_action');
      return await decideOperation(deps, { ...input, platform }, input.actionId === actionIds.confirmOperation);
    }
    if (input.actionId === dashboardLinkActionId) {
      if (platform === 'web') return refusal('unknown_action');
      return await dashboardLinkOutcome(deps, { ...input, platform });
    }
    if (!requestIdPattern.test(input.value)) return refusal('unknown_action');
    const requestId = BigInt(input.value);
    switch (input.actionId) {
      case actionIds.approve:
      case actionIds.deny:
        return await decide(deps, input, requestId, input.actionId === actionIds.approve ? 'approve' : 'deny');
      case actionIds.cancel:
        return await cancel(deps, input, requestId);
      default:
        return refusal('unknown_action');
    }
  } catch (error) {
    deps.logger.error({ err: error, action: input.actionId, requestId: input.value }, 'chat action failed');
    return refusal('internal_error');
  }
}

async function nameOf(deps: ChatDeps, orgId: bigint, memberId: bigint | null): Promise<MemberRef | null> {
  if (memberId === null) return null;
  const found = await membersRepo.findMember(deps.ctx.db.orm, orgId, memberId);
  return found ? refOf(found) : { id: memberId, name: 'someone' };
}

async function cardFor(deps: ChatDeps, request: TopUpRequest): Promise<ChatMessage> {
  const requester = (await nameOf(deps, request.orgId, request.requesterId))!;
  return approvalCard({ request, requester, decidedBy: await nameOf(deps, request.orgId, request.decidedById) });
}

/**
 * `/tokens approve <request> [expiry]`: the Approve button with an expiry typed (the button itself uses
 * the organisation's default): the same verb, checks, edits of the approval messages and notices.
 */
export async function approveWithExpiry(
  deps: ChatDeps,
  input: Omit<RunActionInput, 'actionId' | 'value'>,
  requestId: bigint,
  expiry: ExpiryInput | undefined,
): Promise<ChatOutcome> {
  return decide(
    deps,
    { ...input, actionId: actionIds.approve, value: requestId.toString() },
    requestId,
    'approve',
    expiry,
  );
}

async function decide(
  deps: ChatDeps,
  input: RunActionInput,
  requestId: bigint,
  decision: 'approve' | 'deny',
  expiry?: ExpiryInput,
): Promise<ChatOutcome> {
  const orgId = input.org.id;
  const decided = await decideRequest(deps.ctx, {
    orgId,
    actor: { memberId: input.actor.id, platform: input.platform },
    requestId,
    decision,
    note: input.note,
    expiry,
  });
  if (!decided.ok) {
    // Each code's details are typed (src/lib/failures.ts); `in` picks the codes that carry a field.
    const { detail } = decided;
    const request = detail && 'request' in detail ? detail.request : undefined;
    const outcome = refusal(decided.failure, {
      request,
      decidedBy: request ? await nameOf(deps, orgId, request.decidedById) : null,
      budget: detail && 'budget' in detail ? (detail.budget ?? undefined) : undefined,
      total: detail && 'amount' in detail ? detail.amount : undefined,
      expiry: expiryRefusalOf(decided),
    });
    return request ? { ...outcome, card: await cardFor(deps, request) } : outcome;
  }
  const { request } = decided.value;
  const card = await cardFor(deps, request);
  const deliveries = await updateApprovalMessages(deps, request, card);
  const requester = (await nameOf(deps, orgId, request.requesterId))!;
  const balance =
    decision === 'approve' ? (await getBalances(deps.ctx.db.orm, orgId, request.requesterId))?.wallet : undefined;
  const validUntil = decided.value.expiry?.validUntil ?? null;
  const notice = decisionNotice({ request, decidedBy: refOf(input.actor), balance, validUntil });
  deliveries.push(await deliver(deps, input.platform, orgId, request.requesterId, 'decision_notice', notice));
  const budgetBalance =
    decision === 'approve' && decided.value.fundedFrom === 'budget'
      ? ((await getBalances(deps.ctx.db.orm, orgId, input.actor.id))?.budget ?? null)
      : null;
  const reply = decisionConfirmation({ request, requester, budgetBalance, validUntil });
  return {
    ok: true,
    reply: withDeliveryProblems(
      reply,
      deliveries.filter((d) => d.purpose === 'decision_notice'),
      [requester],
    ),
    card,
    deliveries,
  };
}

async function cancel(deps: ChatDeps, input: RunActionInput, requestId: bigint): Promise<ChatOutcome> {
  const orgId = input.org.id;
  const cancelled = await cancelRequest(deps.ctx, {
    orgId,
    actor: { memberId: input.actor.id, platform: input.platform },
    requestId,
  });
  if (!cancelled.ok) {
    const request = cancelled.detail?.request;
    return refusal(cancelled.failure, {
      request,
      decidedBy: request ? await nameOf(deps, orgId, request.decidedById) : null,
    });
  }
  const card = await cardFor(deps, cancelled.value);
  const deliveries = await updateApprovalMessages(deps, cancelled.value, card);
  return { ok: true, reply: cancelConfirmation(cancelled.value), deliveries };
}

/** Edits every approval message of a request to show its outcome. */
async function updateApprovalMessages(
  deps: ChatDeps,
  request: TopUpRequest,
  card: ChatMessage,
): Promise<DeliveryReport[]> {
  const locations = await approvalsRepo.listApprovalMessages(deps.ctx.db.orm, request.orgId, request.id);
  const reports: DeliveryReport[] = [];
  for (const location of locations) {
    let outcome: SendOutcome;
    try {
      outcome = await deps.notifier.update({
        orgId: request.orgId,
        location: { platform: location.platform, ref: location.ref },
        message: card,
      });
    } catch (error) {
      deps.logger.warn({ err: error, requestId: request.id }, 'could not update an approval message');
      outcome = { ok: false, reason: 'failed', detail: String(error) };
    }
    reports.push({ memberId: location.memberId, purpose: 'approval_update', outcome });
  }
  return reports;
}

// ---------------------------------------------------------------------------------------------
// expiry

/** Expires requests whose time is up, edits their approval messages and tells the requesters. */
export async function sweepExpiredRequests(deps: ChatDeps, input: { limit?: number } = {}): Promise<TopUpRequest[]> {
  const expired = await expireRequests(deps.ctx, { limit: input.limit });
  for (const request of expired) {
    try {
      await updateApprovalMessages(deps, request, await cardFor(deps, request));
      await deliver(
        deps,
        undefined,
        request.orgId,
        request.requesterId,
        'decision_notice',
        decisionNotice({ request, decidedBy: null }),
      );
    } catch (error) {
      deps.logger.warn({ err: error, requestId: request.id }, 'could not announce an expired request');
    }
  }
  return expired;
}
