import type { WebClient } from '@slack/web-api';
import type { ChatDirectory } from '../chat/chat.models';
import type { PlatformProfile } from '../members/members.usecases';
import { slackErrorOf } from './slack.sender';
import { profileOfSlackUser } from './slack-user.models';

/** Looks people up with users.info (needs users:read and users:read.email for the email). */
export function createSlackDirectory(client: WebClient): ChatDirectory {
  return {
    async loadProfile(user): Promise<PlatformProfile | null> {
      try {
        const answer = await client.users.info({ user: user.externalId });
        if (!answer.user) return null;
        return profileOfSlackUser(answer.user, user.externalId);
      } catch (error) {
        if (slackErrorOf(error).code === 'user_not_found') return null;
        throw error;
      }
    },
  };
}
