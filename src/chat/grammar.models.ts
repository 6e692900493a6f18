import { type AfterAmount, amountHelp, type LeadingAmount, readLeadingAmount } from '../ledger/amount.models';
import { type LeaderboardWindow, leaderboardWindows } from '../usage/usage.tables';
import { type ChatUserRef, type CommandToken, tokensToText } from './words.models';

// The platform-neutral command grammar. An adapter turns what the person typed into tokens (words and
// mentions, the mentions read from the platform's own markup or entities, never guessed from names);
// this file turns tokens into a command or a friendly refusal saying what to type.

export const commandNames = ['grant-tokens', 'balance', 'request-tokens', 'leaderboard', 'tokens'] as const;
export type CommandName = (typeof commandNames)[number];

export const memberRoleWords = ['admin', 'manager', 'member'] as const;

export const usageSubcommands = ['price', 'weight', 'leaderboard', 'apikey'] as const;
export type UsageSubcommand = (typeof usageSubcommands)[number];

export type ParsedCommand =
  | { name: 'grant-tokens'; recipients: ChatUserRef[]; amount: bigint; reason: string }
  | { name: 'balance'; target: ChatUserRef | null }
  | { name: 'request-tokens'; amount: bigint; reason: string }
  | { name: 'leaderboard'; window: LeaderboardWindow }
  | { name: 'tokens-help' }
  | { name: 'tokens-dashboard' }
  | { name: 'tokens-role'; target: ChatUserRef; role: (typeof memberRoleWords)[number] }
  | { name: 'tokens-manager'; target: ChatUserRef; manager: ChatUserRef | null }
  | { name: 'tokens-budget'; target: ChatUserRef; amount: bigint; memo: string }
  | { name: 'tokens-digest'; action: 'show' }
  | { name: 'tokens-digest'; action: 'preview' }
  | { name: 'tokens-digest'; action: 'off'; channelId: string | null }
  | { name: 'tokens-digest'; action: 'set'; channelId: string | null; cron: string; timeZone: string }
  | { name: 'tokens-allowance'; action: 'list' }
  | { name: 'tokens-allowance'; action: 'off'; target: AllowanceTargetRef }
  | {
      name: 'tokens-allowance';
      action: 'set';
      target: AllowanceTargetRef;
      amount: bigint;
      period: 'weekly' | 'monthly';
      rolloverCap: bigint | null;
    }
  /** Usage settings (price, weight, leaderboard, apikey): the words after the sub-command, read by usage.bridge.ts. */
  | { name: 'tokens-usage'; sub: UsageSubcommand; words: string[] };

/** Whom an allowance is for: everyone with a role, or one person. */
export type AllowanceTargetRef = { role: (typeof memberRoleWords)[number] } | { user: ChatUserRef };

/** A refusal of the grammar: what was wrong, and what to type instead. */
export interface GrammarRefusal {
  problem: string;
  usage: string;
}

export type GrammarResult = { ok: true; command: ParsedCommand } | { ok: false; refusal: GrammarRefusal };

/**
 * Most tokens read from one command, mentions included (Slack and Teams alike); the rest is ignored.
 * Room for the most recipients of a grant (50), an amount and a reason longer than a memo keeps.
 */
export const commandTokensMax = 120;

export const usages = {
  'grant-tokens': '/grant-tokens @ana @ben 50k shipped the migration',
  balance: '/balance  or  /balance @ana',
  'request-tokens': '/request-tokens 200k eval runs',
  leaderboard: '/leaderboard week  (or month, quarter)',
  'tokens-role': '/tokens role @ana admin|manager|member',
  'tokens-manager': '/tokens manager @ana @mia  (or /tokens manager @ana none)',
  'tokens-budget': '/tokens budget @mia 500k Q3 budget',
  'tokens-digest': '/tokens digest #general "0 9 * * MON" Europe/Berlin  (or: off, preview)',
  'tokens-allowance': '/tokens allowance member 200k monthly rollover 50k  (or @ana …, or: off member)',
  'tokens-dashboard': '/tokens dashboard',
  tokens: '/tokens help',
} as const;

const refuse = (problem: string, usage: string): GrammarResult => ({ ok: false, refusal: { problem, usage } });

/** Accepts "/grant-tokens", "grant-tokens", "Grant-Tokens" and maps them to a command name. */
export function normaliseCommandName(raw: string): CommandName | undefined {
  const name = raw.trim().replace(/^\//, '').toLowerCase();
  return commandNames.find((known) => known === name);
}

/**
 * Reads the amount at the start of `tokens` by the one amount rule (readLeadingAmount in
 * src/ledger/amount.models.ts): the amount is the first word alone, and a next word that could
 * continue it ("50 100 commits") makes the command ambiguous, refused with both readings.
 * Undefined when the first token is not a word.
 */
export function readAmount(tokens: CommandToken[], after: AfterAmount): LeadingAmount | undefined {
  const first = tokens[0];
  if (first?.kind !== 'word') return undefined;
  const next = tokens[1];
  const following = tokens
    .slice(1, 12)
    .map((token) => (token.kind === 'word' ? token.text : `@${token.user.displayName ?? token.user.externalId}`));
  return readLeadingAmount([first.text, ...(next?.kind === 'word' ? following : [])], after);
}

function takeMentions(tokens: CommandToken[]): { mentions: ChatUserRef[]; rest: CommandToken[] } {
  let index = 0;
  const mentions: ChatUserRef[] = [];
  while (index < tokens.length) {
    const token = tokens[index]!;
    if (token.kind !== 'mention') break;
    mentions.push(token.user);
    index++;
  }
  return { mentions, rest: tokens.slice(index) };
}

/** A word that looks like someone typed a name instead of picking a person from the list. */
function looksLikeTypedName(token: CommandToken | undefined): boolean {
  return token?.kind === 'word' && /^@\S+/.test(token.text);
}

export function parseCommand(name: CommandName, input: CommandToken[]): GrammarResult {
  const tokens = input.filter((token) => token.kind === 'mention' || token.text.length > 0).slice(0, commandTokensMax);
  switch (name) {
    case 'grant-tokens':
      return parseGrant(tokens);
    case 'balance':
      return parseBalance(tokens);
    case 'request-tokens':
      return parseRequest(tokens);
    case 'leaderboard':
      return parseLeaderboard(tokens);
    case 'tokens':
      return parseTokens(tokens);
  }
}

function parseGrant(tokens: CommandToken[]): GrammarResult {
  const usage = usages['grant-tokens'];
  const { mentions, rest } = takeMentions(tokens);
  if (mentions.length === 0) {
    if (looksLikeTypedName(tokens[0])) {
      return refuse(`I couldn't tell who “${wordText(tokens[0])}” is. Pick people from the @ list.`, usage);
    }
    return refuse('Name at least one person to give tokens to, then the amount.', usage);
  }
  if (rest.length === 0) return refuse(`No amount given. ${amountHelp}`, usage);
  if (rest[0]?.kind === 'mention') return refuse('Put all the people first, then the amount.', usage);
  const amount = readAmount(rest, 'reason');
  if (!amount) return refuse(`No amount given. ${amountHelp}`, usage);
  if (!amount.ok) return refuse(amount.message, usage);
  return {
    ok: true,
    command: {
      name: 'grant-tokens',
      recipients: dedupeUsers(mentions),
      amount: amount.amount,
      reason: tokensToText(rest.slice(1)),
    },
  };
}

function parseBalance(tokens: CommandToken[]): GrammarResult {
  if (tokens.length === 0) return { ok: true, command: { name: 'balance', target: null } };
  const [first, ...rest] = tokens;
  if (first?.kind !== 'mention' || rest.length > 0) {
    return refuse('/balance takes nothing, or one person picked from the @ list.', usages.balance);
  }
  return { ok: true, command: { name: 'balance', target: first.user } };
}

function parseRequest(tokens: CommandToken[]): GrammarResult {
  const usage = usages['request-tokens'];
  if (tokens[0]?.kind === 'mention') {
    return refuse('Requests go to your manager automatically; start with the amount.', usage);
  }
  const amount = readAmount(tokens, 'reason');
  if (!amount) return refuse(`Say how many tokens you need. ${amountHelp}`, usage);
  if (!amount.ok) return refuse(amount.message, usage);
  return {
    ok: true,
    command: { name: 'request-tokens', amount: amount.amount, reason: tokensToText(tokens.slice(1)) },
  };
}

function parseLeaderboard(tokens: CommandToken[]): GrammarResult {
  if (tokens.length === 0) return { ok: true, command: { name: 'leaderboard', window: 'week' } };
  const word = tokens[0]?.kind === 'word' ? tokens[0].text.toLowerCase() : '';
  const window = leaderboardWindows.find((known) => known === word);
  if (!window || tokens.length > 1) {
    return refuse('The leaderboard covers a week, a month or a quarter.', usages.leaderboard);
  }
  return { ok: true, command: { name: 'leaderboard', window } };
}

function parseTokens(tokens: CommandToken[]): GrammarResult {
  const [first, ...rest] = tokens;
  const sub = first?.kind === 'word' ? first.text.toLowerCase() : '';
  switch (sub) {
    case '':
    case 'help':
      return { ok: true, command: { name: 'tokens-help' } };
    case 'dashboard':
      if (rest.length > 0)
        return refuse('Type just /tokens dashboard: it sends you a sign-in link.', usages['tokens-dashboard']);
      return { ok: true, command: { name: 'tokens-dashboard' } };
    case 'role': {
      const usage = usages['tokens-role'];
      const [target, roleWord, ...extra] = rest;
      if (target?.kind !== 'mention') return refuse('Pick the person from the @ list, then the role.', usage);
      const role = memberRoleWords.find((known) => roleWord?.kind === 'word' && known === roleWord.text.toLowerCase());
      if (!role || extra.length > 0) return refuse('The role is one of admin, manager or member.', usage);
      return { ok: true, command: { name: 'tokens-role', target: target.user, role } };
    }
    case 'manager': {
      const usage = usages['tokens-manager'];
      const [target, manager, ...extra] = rest;
      if (target?.kind !== 'mention') return refuse('Pick the person from the @ list, then their manager.', usage);
      if (manager?.kind === 'word' && ['none', 'nobody', '-'].includes(manager.text.toLowerCase()) && !extra.length) {
        return { ok: true, command: { name: 'tokens-manager', target: target.user, manager: null } };
      }
      if (manager?.kind !== 'mention' || extra.length > 0) {
        return refuse('Name the manager from the @ list too (or “none” to clear it).', usage);
      }
      return { ok: true, command: { name: 'tokens-manager', target: target.user, manager: manager.user } };
    }
    case 'budget': {
      const usage = usages['tokens-budget'];
      const [target, ...after] = rest;
      if (target?.kind !== 'mention') return refuse('Pick the manager from the @ list, then the amount.', usage);
      const amount = readAmount(after, 'reason');
      if (!amount) return refuse(`No amount given. ${amountHelp}`, usage);
      if (!amount.ok) return refuse(amount.message, usage);
      return {
        ok: true,
        command: {
          name: 'tokens-budget',
          target: target.user,
          amount: amount.amount,
          memo: tokensToText(after.slice(1)),
        },
      };
    }
    case 'digest':
      return parseDigest(rest);
    case 'allowance':
    case 'allowances':
      return parseAllowance(rest);
    default: {
      const usageSub = usageSubcommands.find((known) => known === sub);
      if (usageSub) {
        return {
          ok: true,
          command: {
            name: 'tokens-usage',
            sub: usageSub,
            words: rest.map((token) => (token.kind === 'word' ? token.text : `@${token.user.externalId}`)),
          },
        };
      }
      return refuse(`I don't know “/tokens ${wordText(first)}”.`, 'Type /tokens help to see what I can do.');
    }
  }
}

function wordText(token: CommandToken | undefined): string {
  if (!token) return '';
  const text = token.kind === 'word' ? token.text : `@${token.user.displayName ?? token.user.externalId}`;
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function dedupeUsers(users: ChatUserRef[]): ChatUserRef[] {
  const seen = new Set<string>();
  return users.filter((user) => {
    const key = `${user.platform}:${user.workspaceId}:${user.externalId}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Quotes people type around a cron expression, straight or curly (Slack and Teams clients curl them). */
const openingQuote = /^["“”'‘’]/;
const closingQuote = /["“”'‘’]$/;
const cronFieldCountMax = 6;

function parseDigest(tokens: CommandToken[]): GrammarResult {
  const usage = usages['tokens-digest'];
  const words = tokens.filter((token): token is Extract<CommandToken, { kind: 'word' }> => token.kind === 'word');
  if (words.length !== tokens.length) return refuse('A digest goes to a channel, not to a person.', usage);
  const first = words[0]?.text.toLowerCase();
  if (first === undefined) return { ok: true, command: { name: 'tokens-digest', action: 'show' } };
  if (first === 'preview' && words.length === 1)
    return { ok: true, command: { name: 'tokens-digest', action: 'preview' } };
  if (first === 'off' || first === 'stop') {
    const channel = words[1];
    if (words.length > 2 || (channel && !channel.channelId)) {
      return refuse('Say which channel to stop, picked with #, or nothing for every channel.', usage);
    }
    return { ok: true, command: { name: 'tokens-digest', action: 'off', channelId: channel?.channelId ?? null } };
  }
  let rest = words;
  let channelId: string | null = null;
  if (rest[0]?.channelId) {
    channelId = rest[0].channelId;
    rest = rest.slice(1);
  } else if (rest[0]?.text.startsWith('#')) {
    return refuse(`I couldn't tell which channel “${rest[0].text.slice(0, 40)}” is. Pick it from the # list.`, usage);
  }
  // The schedule: a quoted cron expression (or its five bare fields), then an IANA time zone.
  let fields: string[] = [];
  if (rest[0] && openingQuote.test(rest[0].text)) {
    let index = 0;
    const parts: string[] = [];
    for (; index < rest.length && index < cronFieldCountMax + 1; index++) {
      parts.push(rest[index]!.text);
      if ((index > 0 || rest[index]!.text.length > 1) && closingQuote.test(rest[index]!.text)) break;
    }
    const joined = parts.join(' ').replace(openingQuote, '').replace(closingQuote, '').trim();
    fields = joined.split(/\s+/).filter(Boolean);
    rest = rest.slice(index + 1);
  } else {
    fields = rest.slice(0, 5).map((word) => word.text);
    rest = rest.slice(5);
  }
  if (fields.length < 5 || fields.length > cronFieldCountMax) {
    return refuse('Give the schedule as a cron expression in quotes, then a time zone.', usage);
  }
  const zone = rest[0]?.text;
  if (!zone || rest.length > 1) return refuse('End with the time zone, like Europe/Berlin or America/New_York.', usage);
  return {
    ok: true,
    command: { name: 'tokens-digest', action: 'set', channelId, cron: fields.join(' '), timeZone: zone },
  };
}

function parseAllowance(tokens: CommandToken[]): GrammarResult {
  const usage = usages['tokens-allowance'];
  if (tokens.length === 0) return { ok: true, command: { name: 'tokens-allowance', action: 'list' } };
  const readTarget = (token: CommandToken | undefined): AllowanceTargetRef | undefined => {
    if (token?.kind === 'mention') return { user: token.user };
    const word = token?.kind === 'word' ? token.text.toLowerCase().replace(/s$/, '') : '';
    const role = memberRoleWords.find((known) => known === word);
    return role ? { role } : undefined;
  };
  const [first, ...rest] = tokens;
  if (first?.kind === 'word' && ['off', 'remove', 'stop'].includes(first.text.toLowerCase())) {
    const target = readTarget(rest[0]);
    if (!target || rest.length > 1) return refuse('Say whose allowance to stop: a role or a person.', usage);
    return { ok: true, command: { name: 'tokens-allowance', action: 'off', target } };
  }
  const target = readTarget(first);
  if (!target) return refuse('Start with a role (admin, manager, member) or a person from the @ list.', usage);
  const amount = readAmount(rest, 'other');
  if (!amount) return refuse(`No amount given. ${amountHelp}`, usage);
  if (!amount.ok) return refuse(amount.message, usage);
  const after = rest.slice(1);
  const periodWord = after[0]?.kind === 'word' ? after[0].text.toLowerCase() : '';
  const period =
    periodWord === 'weekly' || periodWord === 'week'
      ? 'weekly'
      : periodWord === 'monthly' || periodWord === 'month'
        ? 'monthly'
        : undefined;
  if (!period) return refuse('Say how often: weekly or monthly.', usage);
  let rolloverCap: bigint | null = null;
  const capWords = after.slice(1);
  if (capWords.length > 0) {
    const keyword = capWords[0]?.kind === 'word' ? capWords[0].text.toLowerCase() : '';
    if (keyword !== 'rollover' && keyword !== 'cap')
      return refuse('After the period, only “rollover <most carried over>” may follow.', usage);
    const capText = capWords[1]?.kind === 'word' ? capWords[1].text : '';
    if (capText === '0' || capText.toLowerCase() === 'none') rolloverCap = 0n;
    else {
      const cap = readAmount(capWords.slice(1), 'other');
      if (cap?.ok === false && cap.failure === 'amount_ambiguous') return refuse(cap.message, usage);
      if (!cap?.ok || capWords.length !== 2) {
        return refuse('The rollover cap is an amount, like rollover 50k (or rollover 0).', usage);
      }
      rolloverCap = cap.amount;
    }
  }
  return {
    ok: true,
    command: { name: 'tokens-allowance', action: 'set', target, amount: amount.amount, period, rolloverCap },
  };
}
