import * as approvalsRepo from '../../approvals/approvals.repository';
import { requestTopUp } from '../../approvals/approvals.usecases';
import type { DeliveryReport } from '../chat.models';
import { deliver, refusal, withDeliveryProblems } from '../outcomes.usecases';
import { approvalCard, requestCreated } from '../replies.models';
import { refOf } from '../summary.usecases';
import type { CommandHandler } from './command.models';

/**
 * `/request-tokens <amount> [reason]`: a top-up request to the requester's manager (admins if none),
 * sent to each approver with Approve and Deny buttons; where each landed is kept so the decision can
 * edit every copy.
 */
export const requestTokensCommand: CommandHandler<'request-tokens'> = async (
  { deps, input, orgId, actor },
  command,
) => {
  const { ctx } = deps;
  const requested = await requestTopUp(ctx, {
    orgId,
    actor,
    amount: command.amount,
    reason: command.reason,
    idempotencyKey: input.idempotencyKey,
    expiryMs: deps.config.APPROVAL_EXPIRY_HOURS * 3_600_000,
  });
  if (!requested.ok) return refusal(requested.failure, { max: requested.detail?.max });
  const { request, approvers, created } = requested.value;
  const reply = requestCreated({ request, approvers: approvers.map(refOf), created });
  if (!created) return { ok: true, reply, deliveries: [] };
  const card = approvalCard({ request, requester: refOf(input.actor) });
  const deliveries: DeliveryReport[] = [];
  for (const approver of approvers) {
    const report = await deliver(deps, input.platform, orgId, approver.id, 'approval_request', card);
    if (report.outcome.ok) {
      await approvalsRepo.insertApprovalMessage(ctx.db.orm, {
        orgId,
        requestId: request.id,
        memberId: approver.id,
        platform: report.outcome.location.platform,
        ref: report.outcome.location.ref,
      });
    }
    deliveries.push(report);
  }
  return { ok: true, reply: withDeliveryProblems(reply, deliveries, approvers), deliveries };
};
