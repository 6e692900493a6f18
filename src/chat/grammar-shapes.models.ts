import { type AfterAmount, type LeadingAmount, readLeadingAmount } from '../ledger/amount.models';
import type { ExpiryInput } from '../lib/expiry.models';
import type { LeaderboardWindow } from '../usage/usage.tables';
import type { ChatUserRef, CommandToken } from './words.models';

// The shapes of the command grammar (what a parsed command is, what a refusal says, how each command is
// typed) and the amount reader every command shares. grammar.models.ts parses the commands and re-exports
// these; schedule-grammar.models.ts parses `/tokens digest` and `/tokens allowance`.

export const memberRoleWords = ['admin', 'manager', 'member'] as const;

export const usageSubcommands = ['price', 'weight', 'leaderboard', 'apikey'] as const;
export type UsageSubcommand = (typeof usageSubcommands)[number];

export type ParsedCommand =
  /** `expiry`: as typed at the end (`for 90d`, `expires 2026-12-31`); absent: the organisation's default. */
  | { name: 'grant-tokens'; recipients: ChatUserRef[]; amount: bigint; reason: string; expiry?: ExpiryInput }
  | { name: 'balance'; target: ChatUserRef | null }
  | { name: 'request-tokens'; amount: bigint; reason: string }
  | { name: 'leaderboard'; window: LeaderboardWindow }
  | { name: 'tokens-help' }
  | { name: 'tokens-dashboard' }
  | { name: 'tokens-role'; target: ChatUserRef; role: (typeof memberRoleWords)[number] }
  | { name: 'tokens-manager'; target: ChatUserRef; manager: ChatUserRef | null }
  | { name: 'tokens-budget'; target: ChatUserRef; amount: bigint; memo: string; expiry?: ExpiryInput }
  | { name: 'tokens-approve'; requestId: bigint; expiry?: ExpiryInput }
  /** `days`: undefined shows the default, null removes it. */
  | { name: 'tokens-default-expiry'; days: number | null | undefined }
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
      expiry?: ExpiryInput;
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
  'tokens-approve': '/tokens approve 12 for 90d  (or: expires 2026-12-31)',
  'tokens-default-expiry': '/tokens default-expiry 90d  (or none)',
  'tokens-digest': '/tokens digest #general "0 9 * * MON" Europe/Berlin  (or: off, preview)',
  'tokens-allowance': '/tokens allowance member 200k monthly rollover 50k  (or @ana …, or: off member)',
  'tokens-dashboard': '/tokens dashboard',
  tokens: '/tokens help',
} as const;

/** A refusal of the grammar, with what to type instead. */
export const refuse = (problem: string, usage: string): GrammarResult => ({ ok: false, refusal: { problem, usage } });

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
