import * as membersRepo from '../../members/members.repository';
import { isActiveManager, maySeeBalance } from '../../members/roles.models';
import { refusal } from '../outcomes.usecases';
import { nextAllowanceBlocks } from '../schedules.bridge';
import { balanceMessage, loadMemberSummary, refOf } from '../summary.usecases';
import { usageBlocks } from '../usage.bridge';
import type { CommandHandler } from './command.models';

/** `/balance [@user]`: your own; managers their reporting line's, admins anyone's (roles.maySeeBalance). */
export const balanceCommand: CommandHandler<'balance'> = async ({ deps, input, orgId, resolve }, command) => {
  const { ctx } = deps;
  let target = input.actor;
  if (command.target) {
    const found = await resolve(command.target);
    if (!found) return refusal('unknown_person');
    target = found;
  }
  const own = target.id === input.actor.id;
  // The reporting line is read only when it can matter: a manager looking at someone else.
  const viewerManagesTarget =
    !own &&
    isActiveManager(input.actor) &&
    (await membersRepo.isInReportingLine(ctx.db.orm, orgId, target.id, input.actor.id));
  if (!maySeeBalance({ viewer: input.actor, target, viewerManagesTarget })) return refusal('not_allowed_to_view');
  const summary = await loadMemberSummary(ctx, orgId, target.id);
  if (!summary) return refusal('member_not_found', { person: refOf(target) });
  const usage = await usageBlocks(ctx, { orgId, memberId: target.id });
  const next = await nextAllowanceBlocks(ctx, { orgId, memberId: target.id });
  return { ok: true, reply: balanceMessage(summary, own, [...usage, ...next]), deliveries: [] };
};
