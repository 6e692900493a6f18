import { cleanMemo, needsConfirmation } from '../../ledger/ledger.models';
import type { Member } from '../../members/members.repository';
import { askToConfirm, couldGrant, postGrant } from '../operations.usecases';
import { refusal } from '../outcomes.usecases';
import { refOf } from '../summary.usecases';
import type { CommandHandler } from './command.models';

/**
 * `/grant-tokens @a [@b …] <amount> [reason]`: each person named gets the amount, from the actor's
 * budget or (admins) the treasury. Above the confirmation threshold a grant that could go through is
 * asked first; one that could not is refused at once by grantTokens.
 */
export const grantTokensCommand: CommandHandler<'grant-tokens'> = async ({ deps, input, orgId, resolve }, command) => {
  const recipients: Member[] = [];
  for (const ref of command.recipients) {
    const found = await resolve(ref);
    if (!found) return refusal('unknown_person');
    recipients.push(found);
  }
  const grant = {
    recipients,
    amount: command.amount,
    reason: command.reason,
    idempotencyKey: input.idempotencyKey,
    expiry: command.expiry,
  };
  const total = command.amount * BigInt(new Set(recipients.map((r) => r.id)).size);
  if (needsConfirmation(total) && (await couldGrant(deps, orgId, input.actor, total))) {
    return askToConfirm(
      {
        kind: 'grant',
        issuerId: input.actor.id,
        recipientIds: recipients.map((r) => r.id),
        amount: command.amount,
        reason: cleanMemo(command.reason),
        idempotencyKey: input.idempotencyKey,
        ...(command.expiry ? { expiry: command.expiry } : {}),
      },
      {
        kind: 'grant',
        recipients: recipients.map(refOf),
        amountEach: command.amount,
        total,
        reason: cleanMemo(command.reason),
      },
    );
  }
  return postGrant(deps, { platform: input.platform, orgId, actor: input.actor }, grant);
};
