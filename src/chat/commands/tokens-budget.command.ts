import { cleanMemo, needsConfirmation } from '../../ledger/ledger.models';
import { askToConfirm, postBudget } from '../operations.usecases';
import { refusal } from '../outcomes.usecases';
import { refOf } from '../summary.usecases';
import type { CommandHandler } from './command.models';

/** `/tokens budget @manager <amount> [memo]`: issues from the treasury (admins; issueBudget refuses anyone else). */
export const tokensBudgetCommand: CommandHandler<'tokens-budget'> = async (
  { deps, input, orgId, isAdmin, resolve },
  command,
) => {
  const target = await resolve(command.target);
  if (!target) return refusal('unknown_person');
  // Asked only when the issue would go through: an admin issuing to a manager.
  if (needsConfirmation(command.amount) && isAdmin && target.role === 'manager') {
    return askToConfirm(
      {
        kind: 'budget',
        issuerId: input.actor.id,
        managerId: target.id,
        amount: command.amount,
        memo: cleanMemo(command.memo),
        idempotencyKey: input.idempotencyKey,
        ...(command.expiry ? { expiry: command.expiry } : {}),
      },
      { kind: 'budget', manager: refOf(target), amount: command.amount, memo: cleanMemo(command.memo) },
    );
  }
  return postBudget(
    deps,
    { platform: input.platform, orgId, actor: input.actor },
    {
      manager: target,
      amount: command.amount,
      memo: command.memo,
      idempotencyKey: input.idempotencyKey,
      expiry: command.expiry,
    },
  );
};
