import type { Actor, Ctx } from '../lib/context';
import { actorMemberId } from '../lib/context';
import { withRetries } from '../lib/db-errors';
import { fail, ok, type Result } from '../lib/result';
import * as membersRepo from '../members/members.repository';
import { isActiveAdmin } from '../members/roles.models';
import { cleanMemo, hashOperation } from './ledger.models';
import type { Transfer } from './ledger.repository';
import * as ledgerRepo from './ledger.repository';
import { loadActorMember, type Posted, post, posted } from './ledger.usecases';

// Reversal: a new transfer undoing an earlier one, at most once per transfer (the partial unique index
// transfers_org_reverses_key), with its audit row in the same transaction.

export type ReverseFailure =
  | 'not_an_admin'
  | 'transfer_not_found'
  | 'cannot_reverse_reversal'
  | 'already_reversed'
  | 'exceeds_balance'
  | 'nothing_left'
  | 'idempotency_conflict';

/**
 * Reverses a transfer (admins and operators): moves its amount back from the account it credited to the
 * one it debited. A credit into a wallet or budget (a grant, a top-up, an allowance) is reversed only by
 * what remains of its lot: what was spent or expired is history (`amount` says what moved back;
 * nothing_left when none remains). Refused for a reversal, a transfer already reversed, or one whose
 * tokens are held by calls in flight (exceeds_balance); the same key and body replays the first answer.
 */
export async function reverseTransfer(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; transferId: bigint; memo?: string; idempotencyKey: string },
): Promise<Result<Posted & { reversed: Transfer; amount: bigint }, ReverseFailure>> {
  const actorMember = await loadActorMember(ctx, input.orgId, input.actor);
  const allowed = input.actor.kind !== 'member' || isActiveAdmin(actorMember);
  if (!allowed) return fail('not_an_admin');
  const original = await ledgerRepo.findTransfer(ctx.db.orm, input.orgId, input.transferId);
  if (!original) return fail('transfer_not_found');
  if (original.code === 'reversal') return fail('cannot_reverse_reversal');
  const memo = cleanMemo(input.memo || `reversal of transfer ${original.id}`);
  const body = { code: 'reversal', reverses: original.id, memo };
  // The reversal and its audit row (who undid what, from where) commit together; a replay writes neither.
  const outcome = await withRetries(() =>
    ctx.db.orm.transaction(async (tx) => {
      const posted = await post(
        tx,
        {
          orgId: input.orgId,
          idempotencyKey: input.idempotencyKey,
          requestHash: hashOperation(body),
          code: 'reversal',
          legs: [
            {
              debitAccountId: original.creditAccountId,
              creditAccountId: original.debitAccountId,
              amount: original.amount,
            },
          ],
          actorMemberId: actorMemberId(input.actor),
          platform: input.actor.platform,
          memo,
          reversesTransferId: original.id,
        },
        true,
      );
      if (posted.status === 'ok') {
        await membersRepo.insertActorAudit(tx, {
          orgId: input.orgId,
          actor: input.actor,
          action: 'transfer.reverse',
          details: { transferId: original.id, reversalId: posted.transferIds[0], amount: original.amount, memo },
          at: ctx.clock.now(),
        });
      }
      return posted;
    }),
  );
  switch (outcome.status) {
    case 'ok':
    case 'exists': {
      const reversal = await ledgerRepo.findTransfer(ctx.db.orm, input.orgId, outcome.transferIds[0]!);
      return ok({ ...posted(outcome), reversed: original, amount: reversal?.amount ?? original.amount });
    }
    case 'nothing_left':
      return fail('nothing_left');
    case 'conflict':
      return fail('idempotency_conflict');
    case 'already_reversed':
      return fail('already_reversed');
    case 'exceeds_balance':
      return fail('exceeds_balance', { accountId: outcome.accountId });
    case 'account_not_found':
      throw new Error('reversal: accounts of an existing transfer not found');
  }
}
