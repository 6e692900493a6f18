import { runDigestCommand } from '../schedules.bridge';
import type { CommandHandler } from './command.models';

/** `/tokens digest …`: show, preview, schedule or stop the weekly digest. */
export const tokensDigestCommand: CommandHandler<'tokens-digest'> = async (
  { deps, input, orgId, actor, isAdmin },
  command,
) => {
  const done = await runDigestCommand(deps.ctx, {
    orgId,
    actor,
    isAdmin,
    place: input.place,
    command,
  });
  return { ok: done.ok, reply: done.reply, deliveries: [] };
};
