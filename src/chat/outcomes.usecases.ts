import type { Failure } from '../lib/result';
import type { Member } from '../members/members.repository';
import type { Block, ChatMessage } from '../notify/message.models';
import type { SendOutcome } from '../notify/notifier';
import type { ActingPlatform, ChatDeps, ChatOutcome, DeliveryReport } from './chat.models';
import type { ExpiryRefusal } from './expiry.replies';
import {
  type ChatFailure,
  deliveryProblemLine,
  type FailureContext,
  failureReply,
  type MemberRef,
} from './replies.models';
import { refOf } from './summary.usecases';

// What every command and click ends with: a refusal in words, or notices delivered to other people
// with any delivery problem added to the reply of the person acting.

/** A refused command or click: the failure's words from the one failure → reply table. */
export function refusal(failure: ChatFailure, detail: FailureContext = {}): ChatOutcome {
  return { ok: false, failure, deliveries: [], reply: failureReply(failure, detail) };
}

/** The day and suggestion of a refused expiry (`expiry_past`, `expiry_too_far`) for the refusal's words. */
export function expiryRefusalOf(failure: Failure<string>): ExpiryRefusal | undefined {
  const detail = failure.detail;
  if (failure.failure === 'expiry_past' && typeof detail?.day === 'string' && typeof detail.example === 'string') {
    return { day: detail.day, suggestion: detail.example };
  }
  if (failure.failure === 'expiry_too_far' && typeof detail?.day === 'string' && typeof detail.latest === 'string') {
    return { day: detail.day, suggestion: detail.latest };
  }
  return undefined;
}

/**
 * Sends `message` to a member through deps.notifier (preferring `platform`). Never throws: a sender
 * that throws is a bug, but the ledger change stands, so it is logged and reported as failed.
 */
export async function deliver(
  deps: ChatDeps,
  platform: ActingPlatform | undefined,
  orgId: bigint,
  memberId: bigint,
  purpose: DeliveryReport['purpose'],
  message: ChatMessage,
): Promise<DeliveryReport> {
  let outcome: SendOutcome;
  try {
    outcome = await deps.notifier.notifyMember({ orgId, memberId, message, preferPlatform: platform });
  } catch (error) {
    deps.logger.error({ err: error, memberId, purpose }, 'a chat sender threw');
    outcome = { ok: false, reason: 'failed', detail: String(error) };
  }
  if (!outcome.ok)
    deps.logger.warn(
      { memberId, purpose, reason: outcome.reason, detail: outcome.detail },
      'direct message not delivered',
    );
  return { memberId, purpose, outcome };
}

/** The reply with one line per notice that did not reach its person (at most 45 blocks in all). */
export function withDeliveryProblems(
  reply: ChatMessage,
  deliveries: DeliveryReport[],
  people: (Member | MemberRef)[],
): ChatMessage {
  const problems: Block[] = [];
  for (const delivery of deliveries) {
    if (delivery.outcome.ok) continue;
    const person = people.find((p) => p.id === delivery.memberId);
    const ref = person ? ('name' in person ? person : refOf(person)) : { id: delivery.memberId, name: 'someone' };
    problems.push(deliveryProblemLine({ person: ref, reason: delivery.outcome.reason }));
  }
  if (problems.length === 0) return reply;
  return { summary: reply.summary, blocks: [...reply.blocks, ...problems].slice(0, 45) };
}
