import type { PlatformProfile } from '../members/members.usecases';

// One reading of Slack's user object, whether it comes from users.info (the directory) or from a
// user_change event (the listeners): who is a workspace admin must not depend on which path saw them.

/**
 * The fields of a Slack user object that Allot reads (users.info `user`, user_change `event.user`).
 * Source: Slack's user type reference (docs.slack.dev/reference/objects/user-object).
 */
export interface SlackUser {
  id?: string;
  name?: string;
  real_name?: string;
  deleted?: boolean;
  is_bot?: boolean;
  is_admin?: boolean;
  is_owner?: boolean;
  is_primary_owner?: boolean;
  tz?: string | null;
  profile?: { email?: string | null; display_name?: string; real_name?: string };
}

/** Slackbot is a user, not a bot account, in Slack's user list; it can never receive tokens. */
const slackbotId = 'USLACKBOT';

/**
 * True for a workspace admin, owner or the primary owner. Slack sends `is_primary_owner` with
 * `is_admin`/`is_owner` false at times, so each flag counts on its own.
 */
export function isWorkspaceAdmin(user: SlackUser): boolean {
  return Boolean(user.is_admin || user.is_owner || user.is_primary_owner);
}

/** The profile Allot keeps for a Slack user; `fallbackId` names them when Slack gives no name. */
export function profileOfSlackUser(user: SlackUser, fallbackId: string): PlatformProfile {
  return {
    displayName:
      user.profile?.display_name || user.real_name || user.profile?.real_name || user.name || user.id || fallbackId,
    email: user.profile?.email ?? null,
    timeZone: user.tz ?? null,
    isBot: Boolean(user.is_bot) || user.id === slackbotId,
    isActive: !user.deleted,
    isPlatformAdmin: isWorkspaceAdmin(user),
  };
}
