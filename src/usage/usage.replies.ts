import { formatTokens } from '../ledger/amount.models';
import { type Block, type ChatMessage, context, type Line, message, text } from '../notify/message.models';
import type { ApiKey } from './api-keys.repository';
import type { Leaderboard, LeaderboardEntry, LeaderboardSettingsView, UsageByModel } from './leaderboard.usecases';
import type { AlertThreshold } from './limits.models';
import type { PriceRow } from './prices.repository';
import { formatMoney, formatPricePerMillion, formatWeight, priceHelp, weightHelp } from './pricing.models';

// Platform-neutral replies for the usage commands. The chat core calls a verb and hands its result
// to one of these; the Slack and Teams presenters render the ChatMessage. Names typed by people are
// carried in spans, never spliced into markup.

const windowNames = { week: 'this week', month: 'this month', quarter: 'this quarter' } as const;

function rankLabel(rank: number): string {
  return rank === 1 ? '🥇' : rank === 2 ? '🥈' : rank === 3 ? '🥉' : `${rank}.`;
}

function entryLine(entry: LeaderboardEntry, hideMoney: boolean): Line {
  const line: Line = [
    `${rankLabel(entry.rank)} `,
    { member: { id: entry.memberId, name: entry.displayName } },
    ' — ',
    { bold: `${formatTokens(entry.value)} value` },
    ` · ${formatTokens(entry.tokens)} tokens`,
  ];
  if (!hideMoney && entry.costMicros !== null) {
    line.push(` · ${formatMoney(entry.costMicros)}`);
    if (entry.valuePerMoney !== null) line.push(` · ${formatTokens(entry.valuePerMoney)} value per $`);
  }
  return line;
}

/** `/leaderboard [week|month|quarter]`. */
export function leaderboardReply(board: Leaderboard): ChatMessage {
  const title = `Leaderboard ${windowNames[board.window]}`;
  const blocks: Block[] = [{ type: 'header', text: title }];
  if (board.entries.length === 0) {
    blocks.push(text(['No usage recorded yet ', windowNames[board.window], '.']));
  } else {
    blocks.push(text(...board.entries.map((entry) => entryLine(entry, board.hideMoney))));
  }
  const own = board.asker;
  if (own.state === 'ranked' && !board.entries.some((entry) => entry.memberId === own.entry.memberId)) {
    blocks.push({ type: 'divider' }, text(['You: ', ...entryLine(own.entry, board.hideMoney)]));
  } else if (own.state === 'ranked') {
    blocks.push(context(`You are ranked ${own.entry.rank} of ${board.ranked}.`));
  } else if (own.state === 'no_usage') {
    blocks.push(context('You have no usage recorded in this period yet.'));
  } else if (own.state === 'opted_out') {
    blocks.push(context('You have opted out of the leaderboard; /tokens leaderboard opt-in brings you back.'));
  }
  blocks.push(
    context(
      `Value = tokens × the category's weight. ${board.period.start} to ${board.period.end} (${board.timeZone}).` +
        (board.hideMoney ? ' Money is hidden by your organisation.' : ''),
    ),
  );
  const summary = board.entries.length
    ? `${title}: ${board.entries
        .slice(0, 3)
        .map((entry) => `${entry.rank}. ${entry.displayName}`)
        .join(', ')}`
    : `${title}: no usage yet`;
  return message(summary, ...blocks);
}

export function leaderboardDisabledReply(): ChatMessage {
  return message(
    'The leaderboard is turned off',
    text([
      'The leaderboard is turned off for your organisation. An admin can turn it on with ',
      { code: '/tokens leaderboard on' },
      '.',
    ]),
  );
}

/** The section `/balance` shows under the balance: this period's usage by model, with money. */
export function usageByModelSection(usage: UsageByModel, options: { hideMoney?: boolean } = {}): Block[] {
  const heading: Line = [{ bold: `Usage ${windowNames[usage.window]}` }];
  if (usage.models.length === 0) return [text(heading, ['No metered AI usage yet.'])];
  const lines: Line[] = usage.models.map((row) => {
    const line: Line = [{ code: row.model }, ` ${formatTokens(row.tokens)} tokens`];
    if (!options.hideMoney) line.push(` · ${formatMoney(row.costMicros)}`);
    return line;
  });
  const total: Line = [{ bold: 'Total' }, ` ${formatTokens(usage.total.tokens)} tokens`];
  if (!options.hideMoney) total.push(` · ${formatMoney(usage.total.costMicros)}`);
  return [text(heading, ...lines, total)];
}

export function priceSetReply(price: PriceRow): ChatMessage {
  const summary = `Price of ${price.model} set`;
  return message(
    summary,
    text([
      'Price of ',
      { code: price.model },
      ` from ${price.effectiveFrom.toISOString().slice(0, 16).replace('T', ' ')} UTC: `,
      { bold: `$${formatPricePerMillion(price.inputMicrosPerMillion)}` },
      ' per million input tokens, ',
      { bold: `$${formatPricePerMillion(price.outputMicrosPerMillion)}` },
      ' per million output tokens.',
    ]),
    context('Events keep the price in force at their own time; earlier events are not repriced.'),
  );
}

export function pricesReply(prices: PriceRow[]): ChatMessage {
  const lines: Line[] = prices.map((price) => [
    { code: price.model },
    ` $${formatPricePerMillion(price.inputMicrosPerMillion)} in / $${formatPricePerMillion(price.outputMicrosPerMillion)} out per million`,
    price.source === 'seed' ? ' (default)' : ` from ${price.effectiveFrom.toISOString().slice(0, 10)}`,
  ]);
  return message('Model prices', { type: 'header', text: 'Model prices' }, text(...lines.slice(0, 40)));
}

export function weightSetReply(weight: { category: string; weightThousandths: number }): ChatMessage {
  return message(
    `Weight of ${weight.category} set to ${formatWeight(weight.weightThousandths)}`,
    text([
      'Value weight of ',
      { code: weight.category },
      ' is now ',
      { bold: formatWeight(weight.weightThousandths) },
      '.',
    ]),
    context('Value = tokens × weight, for events recorded from now on.'),
  );
}

/** Shown once, in a DM to the admin who created it. */
export function apiKeyCreatedReply(created: { key: string; apiKey: ApiKey }): ChatMessage {
  return message(
    `API key ${created.apiKey.name} created`,
    text(
      ['API key ', { bold: created.apiKey.name }, ' created. Copy it now; it is not shown again:'],
      [{ code: created.key }],
    ),
    context(
      'Send usage with: Authorization: Bearer <key> to POST /v1/usage. Revoke with /tokens apikey revoke <name>.',
    ),
  );
}

export function apiKeysReply(keys: ApiKey[]): ChatMessage {
  if (keys.length === 0) {
    return message(
      'No API keys',
      text(['No API keys yet. Create one with ', { code: '/tokens apikey create <name>' }, '.']),
    );
  }
  const lines: Line[] = keys.map((key) => [
    { bold: key.name },
    ` ${key.keyPrefix}… created ${key.createdAt.toISOString().slice(0, 10)}`,
    key.revokedAt ? ` · revoked ${key.revokedAt.toISOString().slice(0, 10)}` : '',
  ]);
  return message(`${keys.length} API keys`, text(...lines));
}

export function apiKeyRevokedReply(key: ApiKey): ChatMessage {
  return message(
    `API key ${key.name} revoked`,
    text(['API key ', { bold: key.name }, ` (${key.keyPrefix}…) is revoked; requests with it now get 401.`]),
  );
}

export function leaderboardSettingsReply(settings: LeaderboardSettingsView): ChatMessage {
  return message(
    'Leaderboard settings saved',
    text([
      `Leaderboard: ${settings.enabled ? 'on' : 'off'} · money ${settings.hideMoney ? 'hidden' : 'shown'} · top ${settings.topN} · default ${settings.defaultWindow}.`,
    ]),
  );
}

export function optOutReply(optOut: boolean): ChatMessage {
  return optOut
    ? message(
        'You left the leaderboard',
        text([
          'You are no longer shown on the leaderboard. ',
          { code: '/tokens leaderboard opt-in' },
          ' brings you back.',
        ]),
      )
    : message('You are back on the leaderboard', text(['You are shown on the leaderboard again.']));
}

/** What to type instead, for the usage commands' named failures. */
export const usageFailureReplies: Record<string, string> = {
  not_an_admin: 'Only admins can do that.',
  price_invalid: priceHelp,
  model_invalid: 'Type a model name like gpt-4o (letters, digits, . _ : / @ + -).',
  weight_invalid: weightHelp,
  category_invalid: 'Type a category like code, review, docs or chat (a-z, 0-9, _ and -).',
  name_invalid: 'Name the key with letters, digits, . _ or - (up to 63), like: /tokens apikey create ci-gateway',
  name_taken: 'A live key already has that name; revoke it first or pick another name.',
  key_not_found: 'No live key has that name; /tokens apikey list shows them.',
  leaderboard_disabled: 'The leaderboard is turned off for your organisation.',
  window_invalid: 'Type /leaderboard week, /leaderboard month or /leaderboard quarter.',
  top_invalid: 'Type a number from 1 to 50, like: /tokens leaderboard top 10',
};

const thresholdText = (threshold: AlertThreshold): string =>
  threshold === 'overage' ? 'gone into overage' : `${threshold.slice('left_'.length)}% or less left`;

/** The DM to a member whose wallet reached a threshold. */
export function lowBalanceReply(input: { threshold: AlertThreshold; balance: bigint; received: bigint }): ChatMessage {
  const title =
    input.threshold === 'overage' ? 'Your AI token balance is in overage' : 'Your AI token balance is running low';
  return message(
    title,
    text([
      'Your wallet has ',
      { bold: thresholdText(input.threshold) },
      ': ',
      { bold: `${formatTokens(input.balance)} tokens` },
      input.received > 0n ? ` of ${formatTokens(input.received)} received this month.` : '.',
    ]),
    context('Ask for more with /request-tokens <amount> [reason].'),
  );
}

/** The DM to the manager of a member who went into overage. */
export function overageManagerReply(input: { memberId: bigint; memberName: string; balance: bigint }): ChatMessage {
  return message(
    `${input.memberName} is in overage`,
    text([
      { member: { id: input.memberId, name: input.memberName } },
      ' has used more AI tokens than they had: their wallet is at ',
      { bold: `${formatTokens(input.balance)} tokens` },
      '.',
    ]),
    context('You can top them up with /grant-tokens.'),
  );
}
