import { getBalances } from '../ledger/ledger.usecases';
import type { Actor, Ctx } from '../lib/context';
import type { Member } from '../members/members.repository';
import { type Block, type ChatMessage, context } from '../notify/message.models';
import { createApiKey, listApiKeys, revokeApiKey } from '../usage/api-keys.usecases';
import { findLeaderboardSettings, organisationPeriodTotals } from '../usage/leaderboard.repository';
import {
  getLeaderboard,
  getUsageByModel,
  type LeaderboardOption,
  setLeaderboardOption,
  setLeaderboardOptOut,
} from '../usage/leaderboard.usecases';
import { listPrices, setPrice, setWeight } from '../usage/prices.usecases';
import { formatMoney, moneyWorthMicros } from '../usage/pricing.models';
import {
  apiKeyCreatedReply,
  apiKeyRevokedReply,
  apiKeysReply,
  leaderboardDisabledReply,
  leaderboardReply,
  leaderboardSettingsReply,
  optOutReply,
  priceSetReply,
  pricesReply,
  usageByModelSection,
  usageFailureReplies,
  weightSetReply,
} from '../usage/usage.replies';
import { type LeaderboardWindow, leaderboardWindows } from '../usage/usage.tables';
import type { UsageSubcommand } from './grammar.models';
import { grammarReply, leaderboardComingSoon } from './replies.models';

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
  const hideMoney = settings?.hideMoney ?? false;
  const section = usageByModelSection(usage.value, { hideMoney });
  if (hideMoney) return section;
  return [
    ...(await moneyEquivalentBlocks(ctx, { ...input, usage: usage.value.total, period: usage.value.period })),
    ...section,
  ];
}

/**
 * What a balance is worth in money, where prices are known: at the member's own mix of models this
 * month, or, before they used any, at the organisation's. Integer micro-units throughout.
 */
async function moneyEquivalentBlocks(
  ctx: Ctx,
  input: { orgId: bigint; memberId: bigint; usage: { tokens: bigint; costMicros: bigint }; period: { start: string } },
): Promise<Block[]> {
  const balances = await getBalances(ctx.db.orm, input.orgId, input.memberId);
  if (!balances || balances.wallet === 0n) return [];
  let rate = input.usage;
  let basis = 'your models this month';
  if (rate.tokens === 0n || rate.costMicros === 0n) {
    rate = await organisationPeriodTotals(ctx.db.orm, {
      orgId: input.orgId,
      period: 'month',
      start: input.period.start,
    });
    basis = "your organisation's models this month";
  }
  const worth = moneyWorthMicros(balances.wallet, rate);
  if (worth === null) return [];
  const line =
    balances.wallet < 0n
      ? `Overage worth about ${formatMoney(-worth)} at ${basis}.`
      : `Worth about ${formatMoney(worth)} at ${basis}.`;
  return [context(line)];
}

const usageUsages: Record<UsageSubcommand, string> = {
  price: '/tokens price  (list)  or  /tokens price gpt-4o 2.50 10  (dollars per million input / output tokens)',
  weight: '/tokens weight review 1.5',
  leaderboard: '/tokens leaderboard off|on|hide-money|show-money|top 10|week|month|quarter  or  opt-out|opt-in',
  apikey: '/tokens apikey create ci-gateway  |  list  |  revoke ci-gateway',
};

function usageFailure(failure: string, sub: UsageSubcommand): ChatMessage {
  const problem = usageFailureReplies[failure] ?? 'That did not work and nothing was changed.';
  return grammarReply(problem, usageUsages[sub]);
}

/**
 * `/tokens price|weight|leaderboard|apikey …`: the usage module's settings, typed in chat. Admin checks
 * happen in the usage verbs; opting in and out of the leaderboard is for everyone.
 */
export async function runUsageTokensCommand(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; memberId: bigint; sub: UsageSubcommand; words: string[] },
): Promise<{ ok: boolean; reply: ChatMessage }> {
  const { orgId, actor, sub, words } = input;
  const refuse = () => ({ ok: false, reply: grammarReply('That is not how this setting is typed.', usageUsages[sub]) });
  const answer = <T>(
    result: { ok: true; value: T } | { ok: false; failure: string },
    reply: (value: T) => ChatMessage,
  ) => (result.ok ? { ok: true, reply: reply(result.value) } : { ok: false, reply: usageFailure(result.failure, sub) });
  switch (sub) {
    case 'price': {
      if (words.length === 0 || (words.length === 1 && words[0]?.toLowerCase() === 'list')) {
        return answer(await listPrices(ctx, { orgId, actor }), pricesReply);
      }
      const [model, inPrice, outPrice, ...extra] = words[0]?.toLowerCase() === 'set' ? words.slice(1) : words;
      if (!model || !inPrice || !outPrice || extra.length > 0) return refuse();
      return answer(await setPrice(ctx, { orgId, actor, model, input: inPrice, output: outPrice }), priceSetReply);
    }
    case 'weight': {
      const [category, weight, ...extra] = words[0]?.toLowerCase() === 'set' ? words.slice(1) : words;
      if (!category || !weight || extra.length > 0) return refuse();
      return answer(await setWeight(ctx, { orgId, actor, category, weight }), weightSetReply);
    }
    case 'leaderboard': {
      const [word = '', value, ...extra] = words.map((w) => w.toLowerCase());
      if (extra.length > 0) return refuse();
      if (word === 'opt-out' || word === 'opt-in') {
        const optOut = word === 'opt-out';
        const result = await setLeaderboardOptOut(ctx, {
          orgId,
          memberId: input.memberId,
          optOut,
          platform: actor.platform,
        });
        return answer(result, (v) => optOutReply(v.optOut));
      }
      let option: LeaderboardOption | undefined;
      if (word === 'off' || word === 'on' || word === 'hide-money' || word === 'show-money') option = { kind: word };
      else if (word === 'top' && value && /^[0-9]{1,3}$/.test(value)) option = { kind: 'top', n: Number(value) };
      else if ((leaderboardWindows as readonly string[]).includes(word))
        option = { kind: 'window', window: word as LeaderboardWindow };
      if (!option || (option.kind !== 'top' && value !== undefined)) return refuse();
      return answer(await setLeaderboardOption(ctx, { orgId, actor, option }), leaderboardSettingsReply);
    }
    case 'apikey': {
      const [verb = '', name, ...extra] = words;
      if (extra.length > 0) return refuse();
      if (verb === 'list' && !name) return answer(await listApiKeys(ctx, { orgId, actor }), apiKeysReply);
      if (verb === 'create' && name) return answer(await createApiKey(ctx, { orgId, actor, name }), apiKeyCreatedReply);
      if (verb === 'revoke' && name) return answer(await revokeApiKey(ctx, { orgId, actor, name }), apiKeyRevokedReply);
      return refuse();
    }
  }
}
