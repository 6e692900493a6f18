import { groupingSpaces } from '../ledger/amount.models';
import type { IdentityPlatform } from '../members/members.repository';

// The pieces a command is made of, before the grammar reads them: words and people. Both adapters'
// tokenisers produce these (src/slack/slack-text.models.ts, src/teams/teams.text.models.ts).

/** A person named in a command, as the platform identifies them. */
export interface ChatUserRef {
  platform: IdentityPlatform;
  /** Slack user id (U…/W…) or Teams Entra object id. */
  externalId: string;
  /** Slack team id or Teams tenant id. */
  workspaceId: string;
  displayName?: string;
}

/**
 * A word, or a person. A word that is a channel reference carries the platform's channel id
 * (Slack `<#C123|general>` becomes the word "#general" with channelId "C123").
 */
export type CommandToken = { kind: 'word'; text: string; channelId?: string } | { kind: 'mention'; user: ChatUserRef };

/** Renders tokens back to text for a reason or memo; mentions become "@name" (never markup). */
export function tokensToText(tokens: CommandToken[]): string {
  return tokens
    .map((token) => (token.kind === 'word' ? token.text : `@${token.user.displayName ?? token.user.externalId}`))
    .join(' ')
    .trim();
}

/** Whitespace, but not a single grouping space between two digits. */
const wordBreak = new RegExp(
  `(?:(?![${groupingSpaces}])\\s|(?<![0-9])[${groupingSpaces}]|[${groupingSpaces}](?![0-9]))+`,
  'u',
);

/**
 * Splits typed text into words. Any whitespace separates words, except a grouping space (no-break,
 * narrow no-break or thin, see `groupingSpaces` in src/ledger/amount.models.ts) between two digits,
 * which stays inside its word: "1\u00a0000" pasted from a formatted number is one word, one amount,
 * while "1 000" typed with an ordinary space is two. Both platforms' tokenisers split with this.
 */
export function splitCommandWords(text: string): string[] {
  return text.split(wordBreak).filter((word) => word.length > 0);
}
