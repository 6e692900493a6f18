import type { Orm } from '../db/client';
import type { Actor } from '../lib/context';
import { actorMemberId } from '../lib/context';
import { fail, ok, type Result } from '../lib/result';
import { cleanMemo, hashOperation } from './ledger.models';
import * as ledgerRepo from './ledger.repository';
import { post, requireAccount } from './ledger.usecases';

// A manager's whole budget back to the treasury, when they stop managing (members.usecases setRole
// with returnBudget), inside the caller's transaction. Issuing into a budget is ledger.usecases
// issueBudget.

/**
 * Moves everything left in a member's budget back to the treasury, as an `issue` transfer the other
 * way (budget → treasury): the undoing of what issued it. Runs on `orm`, an open transaction: the two
 * accounts are locked in id order first, so the amount read is the amount moved. Returns 0 moved and
 * no transfer when the budget is empty.
 */
export async function returnBudget(
  orm: Orm,
  input: { orgId: bigint; actor: Actor; memberId: bigint; memo?: string; idempotencyKey: string },
): Promise<Result<{ returned: bigint; transferIds: bigint[] }, 'idempotency_conflict'>> {
  const treasury = await requireAccount(orm, input.orgId, 'treasury', null);
  const budget = await requireAccount(orm, input.orgId, 'budget', input.memberId);
  const locked = await ledgerRepo.lockAccounts(orm, input.orgId, [treasury.id, budget.id]);
  const balance = locked.find((account) => account.id === budget.id)?.balance ?? 0n;
  if (balance <= 0n) return ok({ returned: 0n, transferIds: [] });
  const memo = cleanMemo(input.memo || 'budget returned to the treasury');
  const body = { code: 'issue', from: budget.id, to: treasury.id, amount: balance, memo };
  const outcome = await post(
    orm,
    {
      orgId: input.orgId,
      idempotencyKey: input.idempotencyKey,
      requestHash: hashOperation(body),
      code: 'issue',
      legs: [{ debitAccountId: budget.id, creditAccountId: treasury.id, amount: balance }],
      actorMemberId: actorMemberId(input.actor),
      platform: input.actor.platform,
      memo,
      reversesTransferId: null,
    },
    true,
  );
  if (outcome.status === 'conflict') return fail('idempotency_conflict');
  if (outcome.status !== 'ok' && outcome.status !== 'exists') throw new Error(`return: unexpected ${outcome.status}`);
  return ok({ returned: balance, transferIds: outcome.transferIds });
}
