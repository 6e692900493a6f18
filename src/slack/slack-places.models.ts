import type { CommandPlace, DigestDestination } from '../chat/schedules.bridge';

// Where a Slack command can send the weekly digest: the channel it was typed in, or one it names with
// `#` (escaped as `<#C…|name>`, read into the word's channelId). Direct messages (D…) are no place
// for a team's digest.

function channelDestination(channelId: string, teamId: string): DigestDestination {
  return {
    // The workspace goes with the channel: with several installed, its token is the one that posts there.
    location: { platform: 'slack', ref: { channelId, ...(teamId ? { teamId } : {}) } },
    words: [{ channel: { id: channelId, name: 'channel' } }],
  };
}

/**
 * The place of a slash command typed in `channelId` (C…, G… or D…, from the payload's channel_id) of
 * the workspace `teamId`.
 */
export function slackCommandPlace(channelId: string, teamId: string): CommandPlace {
  return {
    here: channelId.startsWith('D')
      ? 'Name the channel that should receive the digest, picked with #.'
      : channelDestination(channelId, teamId),
    named: (named) => channelDestination(named, teamId),
    describe: (location) =>
      location.platform === 'slack' ? [{ channel: { id: location.ref.channelId ?? '', name: 'channel' } }] : undefined,
  };
}
