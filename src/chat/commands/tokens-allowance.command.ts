import { runAllowanceCommand } from '../schedules.bridge';
import type { CommandHandler } from './command.models';

/** `/tokens allowance …`: list, set or remove recurring allowances. */
export const tokensAllowanceCommand: CommandHandler<'tokens-allowance'> = async (
  { deps, orgId, actor, isAdmin, resolve },
  command,
) => {
  const done = await runAllowanceCommand(deps.ctx, { orgId, actor, isAdmin, command, resolve });
  return { ok: done.ok, reply: done.reply, deliveries: [] };
};
