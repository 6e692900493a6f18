import { amountHelp } from '../ledger/amount.models';
import { leaderboardWindows } from '../usage/usage.tables';
import { readDefaultExpiry, readRequestId, takeExpiryTail } from './expiry-grammar.models';
import {
  commandTokensMax,
  type GrammarResult,
  memberRoleWords,
  readAmount,
  refuse,
  usageSubcommands,
  usages,
} from './grammar-shapes.models';
import { parseAllowance, parseDigest } from './schedule-grammar.models';
import { type ChatUserRef, type CommandToken, tokensToText } from './words.models';

// The platform-neutral command grammar. An adapter turns what the person typed into tokens (words and
// mentions, the mentions read from the platform's own markup or entities, never guessed from names);
// this file turns tokens into a command or a friendly refusal saying what to type. The shapes it
// returns are in grammar-shapes.models.ts (re-exported here).

export {
  type AllowanceTargetRef,
  commandTokensMax,
  type GrammarRefusal,
  type GrammarResult,
  memberRoleWords,
  type ParsedCommand,
  readAmount,
  type UsageSubcommand,
  usageSubcommands,
  usages,
} from './grammar-shapes.models';

export const commandNames = ['grant-tokens', 'balance', 'request-tokens', 'leaderboard', 'tokens'] as const;
export type CommandName = (typeof commandNames)[number];

/** Accepts "/grant-tokens", "grant-tokens", "Grant-Tokens" and maps them to a command name. */
export function normaliseCommandName(raw: string): CommandName | undefined {
  const name = raw.trim().replace(/^\//, '').toLowerCase();
  return commandNames.find((known) => known === name);
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

function parseGrant(input: CommandToken[]): GrammarResult {
  const usage = usages['grant-tokens'];
  const tail = takeExpiryTail(input);
  if (!tail.ok) return refuse(tail.problem, `${usage} for 90d`);
  const tokens = tail.rest;
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
      ...(tail.expiry ? { expiry: tail.expiry } : {}),
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
      const tail = takeExpiryTail(rest);
      if (!tail.ok) return refuse(tail.problem, `${usage} for 90d`);
      const [target, ...after] = tail.rest;
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
          ...(tail.expiry ? { expiry: tail.expiry } : {}),
        },
      };
    }
    case 'approve':
      return parseApprove(rest);
    case 'default-expiry':
      return parseDefaultExpiry(rest);
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

/** `/tokens approve <request> [expiry]`. */
function parseApprove(tokens: CommandToken[]): GrammarResult {
  const tail = takeExpiryTail(tokens);
  if (!tail.ok) return refuse(tail.problem, usages['tokens-approve']);
  const requestId = readRequestId(tail.rest[0]);
  if (requestId === undefined || tail.rest.length > 1)
    return refuse('Give the request number, then the expiry if you want one.', usages['tokens-approve']);
  return { ok: true, command: { name: 'tokens-approve', requestId, ...(tail.expiry ? { expiry: tail.expiry } : {}) } };
}

/** `/tokens default-expiry [90d | none]`. */
function parseDefaultExpiry(tokens: CommandToken[]): GrammarResult {
  const read = readDefaultExpiry(tokens);
  if (!read.ok) return refuse(read.problem, usages['tokens-default-expiry']);
  return { ok: true, command: { name: 'tokens-default-expiry', days: read.days } };
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
