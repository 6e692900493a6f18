import { runUsageTokensCommand } from '../usage.bridge';
import type { CommandHandler } from './command.models';

/** `/tokens price|weight|leaderboard|apikey …`: usage settings, read by usage.bridge.ts. */
export const tokensUsageCommand: CommandHandler<'tokens-usage'> = async ({ deps, input, orgId, actor }, command) => {
  const done = await runUsageTokensCommand(deps.ctx, {
    orgId,
    actor,
    memberId: input.actor.id,
    sub: command.sub,
    words: command.words,
  });
  return { ok: done.ok, reply: done.reply, deliveries: [] };
};
