import type { Member } from '../../members/members.repository';
import { setManager } from '../../members/members.usecases';
import { refusal } from '../outcomes.usecases';
import { managerSet } from '../replies.models';
import { refOf } from '../summary.usecases';
import type { CommandHandler } from './command.models';

/** `/tokens manager @user [@manager]`: sets or clears a reporting line (admins; setManager refuses anyone else). */
export const tokensManagerCommand: CommandHandler<'tokens-manager'> = async (
  { deps, orgId, actor, resolve },
  command,
) => {
  const target = await resolve(command.target);
  if (!target) return refusal('unknown_person');
  let manager: Member | undefined;
  if (command.manager) {
    manager = await resolve(command.manager);
    if (!manager) return refusal('unknown_person');
  }
  const updated = await setManager(deps.ctx, { orgId, actor, memberId: target.id, managerId: manager?.id ?? null });
  if (!updated.ok) return refusal(updated.failure, { person: refOf(target), verb: 'set managers' });
  return {
    ok: true,
    reply: managerSet({ target: refOf(target), manager: manager ? refOf(manager) : null }),
    deliveries: [],
  };
};
