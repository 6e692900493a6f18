import { unconfirmedTokensMax } from '../ledger/ledger.models';
import { getBalances, grantTokens, issueBudget } from '../ledger/ledger.usecases';
import type { ExpiryInput } from '../lib/expiry.models';
import { validUntilLabel } from '../lib/expiry.models';
import type { IdentityPlatform, Member } from '../members/members.repository';
import * as membersRepo from '../members/members.repository';
import { grantSource } from '../members/roles.models';
import type { ChatDeps, ChatOutcome, DeliveryReport, OperationActor, RunActionInput } from './chat.models';
import { hasInboundDelivery, recordInboundDelivery } from './chat.repository';
import {
  decodePendingOperation,
  encodePendingOperation,
  operationDecisionKeys,
  type PendingOperation,
} from './confirmations.models';
import { deliver, expiryRefusalOf, refusal, withDeliveryProblems } from './outcomes.usecases';
import {
  budgetIssued,
  budgetNotice,
  grammarReply,
  grantConfirmation,
  grantNotice,
  type LargeOperation,
  largeOperationQuestion,
  operationCancelled,
} from './replies.models';
import { refOf } from './summary.usecases';

// Grants and budget issues as chat runs them: posted at once, or (above the confirmation threshold)
// asked first and posted on the issuer's Confirm click, with the notices to the people concerned.

/** Grants `amount` to each recipient (ledger key `key`) and tells each of them; a replay tells nobody again. */
export async function postGrant(
  deps: ChatDeps,
  by: OperationActor,
  grant: { recipients: Member[]; amount: bigint; reason: string; idempotencyKey: string; expiry?: ExpiryInput },
): Promise<ChatOutcome> {
  const { ctx } = deps;
  const { orgId, platform } = by;
  const { recipients } = grant;
  const granted = await grantTokens(ctx, {
    orgId,
    actor: { kind: 'member', memberId: by.actor.id, platform },
    recipientIds: recipients.map((r) => r.id),
    amount: grant.amount,
    memo: grant.reason,
    idempotencyKey: grant.idempotencyKey,
    expiry: grant.expiry,
  });
  if (!granted.ok) {
    // Each code's details are typed (src/lib/failures.ts); `in` picks the codes that carry a field.
    const { detail } = granted;
    const personId = detail && 'memberId' in detail ? detail.memberId : undefined;
    const person = recipients.find((r) => r.id === personId);
    return refusal(granted.failure, {
      person: person ? refOf(person) : undefined,
      budget: detail && 'budget' in detail ? (detail.budget ?? undefined) : undefined,
      total: detail && 'total' in detail ? detail.total : undefined,
      max: detail && 'max' in detail ? detail.max : undefined,
      expiry: expiryRefusalOf(granted),
    });
  }
  const reply = grantConfirmation({
    recipients: recipients.map(refOf),
    amountEach: granted.value.amountEach,
    reason: grant.reason,
    budgetBalance: granted.value.budgetBalance,
    validUntil: granted.value.expiry.validUntil,
  });
  // A redelivered command replays the grant: the recipients were told the first time.
  if (granted.value.replayed) return { ok: true, reply, deliveries: [] };
  const deliveries: DeliveryReport[] = [];
  for (const recipient of recipients) {
    const balance = (await getBalances(ctx.db.orm, orgId, recipient.id))?.wallet ?? 0n;
    const lot = granted.value.expiry.lots.find((l) => l.memberId === recipient.id);
    const notice = grantNotice({
      granter: refOf(by.actor),
      amount: grant.amount,
      reason: grant.reason,
      balance,
      validUntil: lot?.at ? validUntilLabel(lot.at, lot.timeZone) : null,
    });
    deliveries.push(await deliver(deps, platform, orgId, recipient.id, 'grant_notice', notice));
  }
  return { ok: true, reply: withDeliveryProblems(reply, deliveries, recipients), deliveries };
}

/** Issues `amount` from the treasury into a manager's budget (ledger key `key`) and tells the manager. */
export async function postBudget(
  deps: ChatDeps,
  by: OperationActor,
  budget: { manager: Member; amount: bigint; memo: string; idempotencyKey: string; expiry?: ExpiryInput },
): Promise<ChatOutcome> {
  const { orgId, platform } = by;
  const target = budget.manager;
  const issued = await issueBudget(deps.ctx, {
    orgId,
    actor: { kind: 'member', memberId: by.actor.id, platform },
    managerId: target.id,
    amount: budget.amount,
    memo: budget.memo,
    idempotencyKey: budget.idempotencyKey,
    expiry: budget.expiry,
  });
  if (!issued.ok) {
    // not_a_manager from issueBudget means the target has no manager role.
    if (issued.failure === 'not_a_manager') {
      return {
        ok: false,
        failure: 'not_a_manager',
        deliveries: [],
        reply: grammarReply(
          `${target.displayName} is not a manager, so they have no budget.`,
          '/tokens role @them manager',
        ),
      };
    }
    return refusal(issued.failure, { person: refOf(target), verb: 'add to budgets', expiry: expiryRefusalOf(issued) });
  }
  const reply = budgetIssued({
    manager: refOf(target),
    amount: budget.amount,
    budget: issued.value.budgetBalance,
    memo: budget.memo,
    validUntil: issued.value.expiry.validUntil,
  });
  if (issued.value.replayed || target.id === by.actor.id) return { ok: true, reply, deliveries: [] };
  const notice = budgetNotice({
    admin: refOf(by.actor),
    amount: budget.amount,
    budget: issued.value.budgetBalance,
    memo: budget.memo,
    validUntil: issued.value.expiry.validUntil,
  });
  const deliveries = [await deliver(deps, platform, orgId, target.id, 'budget_notice', notice)];
  return { ok: true, reply: withDeliveryProblems(reply, deliveries, [target]), deliveries };
}

// ---------------------------------------------------------------------------------------------
// large operations: asked first, posted on the issuer's Confirm click

/**
 * Whether the person could make this grant at all (an admin, or an active manager whose budget covers
 * it). Only then is a confirmation worth asking: otherwise the grant is refused as usual, at once.
 */
export async function couldGrant(deps: ChatDeps, orgId: bigint, actor: Member, total: bigint): Promise<boolean> {
  const source = grantSource({ kind: 'member', member: actor });
  if (source !== 'budget') return source === 'treasury';
  const budget = (await getBalances(deps.ctx.db.orm, orgId, actor.id))?.budget ?? 0n;
  return budget >= total;
}

export function askToConfirm(operation: PendingOperation, shown: LargeOperation): ChatOutcome {
  const value = encodePendingOperation(operation);
  if (!value) return refusal('operation_too_large_to_confirm');
  return {
    ok: true,
    confirmation: true,
    deliveries: [],
    reply: largeOperationQuestion(shown, value, unconfirmedTokensMax),
  };
}

/**
 * A click on Confirm or Cancel under a large operation's question. Only its issuer may click. The first
 * click of either kind decides, once for all replicas (a row in inbound_deliveries keyed by the
 * command's own idempotency key): Confirm posts with that key, so a double click or a redelivered click
 * replays the same transfers instead of posting again; Cancel posts nothing, and a Confirm after it
 * posts nothing either. `card` is what the question's message should show now.
 */
export async function decideOperation(
  deps: ChatDeps,
  input: RunActionInput & { platform: IdentityPlatform },
  confirm: boolean,
): Promise<ChatOutcome> {
  const operation = decodePendingOperation(input.value);
  if (!operation) return refusal('unknown_action');
  if (operation.issuerId !== input.actor.id) return refusal('operation_not_yours');
  const orgId = input.org.id;
  const orm = deps.ctx.db.orm;
  const {
    decided,
    cancelled: cancelledMark,
    confirmed: confirmedMark,
  } = operationDecisionKeys(operation.idempotencyKey);
  const first = await recordInboundDelivery(orm, orgId, decided);
  if (!confirm) {
    if (first || (await hasInboundDelivery(orm, orgId, cancelledMark))) {
      await recordInboundDelivery(orm, orgId, cancelledMark);
      const card = operationCancelled();
      return { ok: true, reply: card, card, deliveries: [] };
    }
    return refusal(
      (await hasInboundDelivery(orm, orgId, confirmedMark)) ? 'operation_already_confirmed' : 'operation_in_progress',
    );
  }
  if (!first) {
    if (await hasInboundDelivery(orm, orgId, cancelledMark)) {
      const outcome = refusal('operation_cancelled');
      return { ...outcome, card: operationCancelled() };
    }
    // Confirmed before: posting again with the same key replays the first result and tells nobody twice.
    if (!(await hasInboundDelivery(orm, orgId, confirmedMark))) return refusal('operation_in_progress');
  }
  const outcome = await postOperation(deps, input, operation);
  if (first) await recordInboundDelivery(orm, orgId, confirmedMark);
  return { ...outcome, card: outcome.reply };
}

async function postOperation(
  deps: ChatDeps,
  input: RunActionInput & { platform: IdentityPlatform },
  operation: PendingOperation,
): Promise<ChatOutcome> {
  const orgId = input.org.id;
  const by = { platform: input.platform, orgId, actor: input.actor };
  if (operation.kind === 'budget') {
    const manager = await membersRepo.findMember(deps.ctx.db.orm, orgId, operation.managerId);
    if (!manager) return refusal('member_not_found');
    return postBudget(deps, by, {
      manager,
      amount: operation.amount,
      memo: operation.memo,
      idempotencyKey: operation.idempotencyKey,
      expiry: operation.expiry,
    });
  }
  const found = await membersRepo.findMembers(deps.ctx.db.orm, orgId, operation.recipientIds);
  const byId = new Map(found.map((member) => [member.id, member]));
  const recipients = operation.recipientIds.map((id) => byId.get(id)).filter((m): m is Member => m !== undefined);
  if (recipients.length !== operation.recipientIds.length) return refusal('recipient_not_found');
  return postGrant(deps, by, {
    recipients,
    amount: operation.amount,
    reason: operation.reason,
    idempotencyKey: operation.idempotencyKey,
    expiry: operation.expiry,
  });
}
