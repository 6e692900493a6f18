import { setRole } from '../../members/members.usecases';
import { refusal } from '../outcomes.usecases';
import { roleSet } from '../replies.models';
import { refOf } from '../summary.usecases';
import type { CommandHandler } from './command.models';

/** `/tokens role @user admin|manager|member` (admins; setRole refuses anyone else). */
export const tokensRoleCommand: CommandHandler<'tokens-role'> = async (
  { deps, input, orgId, actor, resolve },
  command,
) => {
  const target = await resolve(command.target);
  if (!target) return refusal('unknown_person');
  const updated = await setRole(deps.ctx, { orgId, actor, memberId: target.id, role: command.role });
  if (!updated.ok) {
    const budget = updated.detail?.budget;
    const suggestion = `allot role ${input.org.slug} ${target.id} ${command.role} --return-budget`;
    return refusal(updated.failure, { person: refOf(target), verb: 'change roles', budget, suggestion });
  }
  return { ok: true, reply: roleSet({ target: refOf(updated.value), role: command.role }), deliveries: [] };
};
