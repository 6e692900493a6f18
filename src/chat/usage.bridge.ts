import type { Ctx } from '../lib/context';
import type { Member } from '../members/members.repository';
import { leaderboardDisabledReply, leaderboardReply, usageByModelSection } from '../usage/usage.replies';
import { findLeaderboardSettings } from '../usage/usage.repository';
import { getLeaderboard, getUsageByModel } from '../usage/usage.usecases';
import type { LeaderboardWindow } from './grammar.models';
import type { Block, ChatMessage } from './messages';
import { leaderboardComingSoon } from './replies.models';

// The chat core's window on the usage module: the leaderboard and a member's usage by model (with
// money where prices are known). Kept in one file so the core depends on usage in one place only.

export async function leaderboardMessage(
  ctx: Ctx,
  input: { orgId: bigint; actor: Member; window: LeaderboardWindow },
): Promise<ChatMessage> {
  const board = await getLeaderboard(ctx, { orgId: input.orgId, askerId: input.actor.id, window: input.window });
  if (board.ok) return leaderboardReply(board.value);
  if (board.failure === 'leaderboard_disabled') return leaderboardDisabledReply();
  return leaderboardComingSoon(input.window);
}

/** This month's usage by model for /balance and the Home tab; money hidden when the organisation says so. */
export async function usageBlocks(ctx: Ctx, input: { orgId: bigint; memberId: bigint }): Promise<Block[]> {
  const usage = await getUsageByModel(ctx, { orgId: input.orgId, memberId: input.memberId });
  if (!usage.ok) return [];
  const settings = await findLeaderboardSettings(ctx.db.orm, input.orgId);
  return usageByModelSection(usage.value, { hideMoney: settings?.hideMoney ?? false });
}
