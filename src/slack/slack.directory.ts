import type { WebClient } from '@slack/web-api';
import type { ChatDirectory } from '../chat/commands.usecases';
import type { PlatformProfile } from '../members/members.usecases';
import { slackErrorOf } from './slack.sender';

/** Looks people up with users.info (needs users:read and users:read.email for the email). */
export function createSlackDirectory(client: WebClient): ChatDirectory {
  return {
    async loadProfile(user): Promise<PlatformProfile | null> {
      try {
        const answer = await client.users.info({ user: user.externalId });
        const found = answer.user;
        if (!found) return null;
        return {
          displayName:
            found.profile?.display_name || found.real_name || found.profile?.real_name || found.name || user.externalId,
          email: found.profile?.email ?? null,
          timeZone: found.tz ?? null,
          isBot: Boolean(found.is_bot) || found.id === 'USLACKBOT',
          isActive: !found.deleted,
          isPlatformAdmin: Boolean(found.is_admin || found.is_owner || found.is_primary_owner),
        };
      } catch (error) {
        if (slackErrorOf(error).code === 'user_not_found') return null;
        throw error;
      }
    },
  };
}
