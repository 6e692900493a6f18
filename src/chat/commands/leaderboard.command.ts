import { leaderboardMessage } from '../usage.bridge';
import type { CommandHandler } from './command.models';

/** `/leaderboard [week|month|quarter]`: the usage module's leaderboard when it provides one. */
export const leaderboardCommand: CommandHandler<'leaderboard'> = async ({ deps, input, orgId }, command) => {
  const board = deps.chatExtensions?.leaderboard;
  const reply = board
    ? await board({ orgId, actor: input.actor, window: command.window })
    : await leaderboardMessage(deps.ctx, { orgId, actor: input.actor, window: command.window });
  return { ok: true, reply, deliveries: [] };
};
