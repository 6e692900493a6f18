import type { CommandPlace } from '../chat/schedules.bridge';

// Where a Teams command can send the weekly digest: only the channel or group chat it was typed in
// (mentioning the bot), since a bot cannot post to a channel it was not addressed in and Teams offers
// no `#channel` picker in message text. A personal chat is no place for a team's digest.

/** The place of a command typed in `conversation` (its root id for a channel thread), if any. */
export function teamsCommandPlace(
  conversation: { id: string; type: 'personal' | 'groupChat' | 'channel' } | undefined,
): CommandPlace {
  return {
    here:
      conversation && conversation.type !== 'personal'
        ? { location: { platform: 'teams', ref: { conversationId: conversation.id } }, words: ['this conversation'] }
        : 'Type the command in the channel (or group chat) that should receive the digest, mentioning the bot.',
    named: () => 'In Teams, type the command in the channel that should receive the digest.',
    describe: (location) => (location.platform === 'teams' ? ['a Teams conversation'] : undefined),
  };
}
