import type { ChatDirectory, ChatProfile } from '../chat/chat.models';
import { emailOfAccount, isBotAccountId, type SeenTeamsUser, type TeamsAccount } from './teams.usecases';

// How the chat core learns about a Teams person it has not met: from what this turn saw of them (the
// activity's sender, a mention) and TeamsInfo.getMember, asked at most once per person per turn.

/** A directory for one Teams turn: `remember` each person seen, then the core asks `loadProfile`. */
export interface TeamsTurnDirectory extends ChatDirectory {
  remember(seen: SeenTeamsUser): void;
}

/**
 * The profile Allot keeps for a Teams user first seen: TeamsInfo.getMember's name and email (a
 * guest's UPN is not an email), else the name the activity gave; 28: accounts are bots.
 */
export function profileOfTeamsUser(seen: SeenTeamsUser, account: TeamsAccount | undefined): ChatProfile {
  return {
    displayName: account?.name?.trim() || seen.name?.trim() || seen.ref.externalId,
    email: account ? emailOfAccount(account) : null,
    isBot: isBotAccountId(seen.userId),
    identityDetails: { userId: seen.userId },
  };
}

/** A directory that knows the people this turn has seen; anyone else is unknown (null). */
export function createTeamsTurnDirectory(): TeamsTurnDirectory {
  const seen = new Map<string, SeenTeamsUser>();
  return {
    remember(user) {
      if (!seen.has(user.ref.externalId)) seen.set(user.ref.externalId, user);
    },
    async loadProfile(user) {
      const known = seen.get(user.externalId);
      if (!known) return null;
      const account = known.account ?? (isBotAccountId(known.userId) ? undefined : await known.loadAccount());
      return profileOfTeamsUser(known, account);
    },
  };
}
