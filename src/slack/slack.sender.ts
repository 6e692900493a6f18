import type { WebClient } from '@slack/web-api';
import type { Orm } from '../db/client';
import type { Logger } from '../lib/logger';
import { SendLimiter } from '../lib/send-limiter';
import type { MemberIdentity } from '../members/members.repository';
import type { ChatMessage } from '../notify/message.models';
import type { MessageLocation, PlatformSender, SendOutcome } from '../notify/notifier';
import { toSlackMessage } from './blockkit.presenter';
import { findSlackUserIds } from './slack.repository';
import { memberIdsIn, type SlackIds } from './slack-text.models';
import type { SlackClients, WorkspaceClient } from './workspace-clients';

/** Slack's per-channel posting limit, applied to channel posts (the digest). */
export const channelSendWindows = [{ count: 1, ms: 1_000 }] as const;

/** Slack errors meaning the person or conversation cannot be written to; retrying will not help. */
const unreachableErrors = new Set([
  'channel_not_found',
  'user_not_found',
  'users_not_found',
  'account_inactive',
  'user_disabled',
  'cannot_dm_bot',
  'is_archived',
  'not_in_channel',
  'user_is_restricted',
  'message_not_found',
  'missing_scope',
]);

/** The Slack error code of a failed Web API call (`ok:false` → its `error`), or a transport code. */
export function slackErrorOf(error: unknown): { code: string; unreachable: boolean } {
  const known = error as { code?: string; data?: { error?: string } };
  if (known?.code === 'slack_webapi_platform_error' && known.data?.error) {
    return { code: known.data.error, unreachable: unreachableErrors.has(known.data.error) };
  }
  return { code: known?.code ?? String(error), unreachable: false };
}

/** Most DM channel ids kept in memory (the map is cleared when full). */
export const dmChannelsCachedMax = 50_000;

export async function slackIdsFor(orm: Orm, orgId: bigint, message: ChatMessage): Promise<SlackIds> {
  return findSlackUserIds(orm, orgId, memberIdsIn(message));
}

/** Slack errors that may mean "this channel is in another of the organisation's workspaces". */
const otherWorkspaceErrors = new Set(['channel_not_found', 'not_in_channel', 'message_not_found']);

interface SenderDeps {
  clients: SlackClients;
  orm: () => Orm;
  logger: Logger;
}

const notInstalled: SendOutcome = { ok: false, reason: 'unreachable', detail: 'not_installed' };

/** A failed Web API call as a send outcome (logged with its Slack error code, never its arguments). */
function failure(deps: SenderDeps, error: unknown, what: string): SendOutcome {
  const { code, unreachable } = slackErrorOf(error);
  deps.logger.warn({ code, what }, 'Slack Web API call failed');
  return { ok: false, reason: unreachable ? 'unreachable' : 'failed', detail: code };
}

/** Where a posted message lives; the workspace goes with it, so an edit uses the same token. */
function locationOf(channel: string, ts: string | undefined, teamId: string | null): MessageLocation {
  return { platform: 'slack', ref: { channel, ts: ts ?? '', ...(teamId ? { teamId } : {}) } };
}

/**
 * Runs `call` with the client of the workspace named by `teamId`; without one (a location stored
 * before distribution, a digest set up at the CLI), with each installation of the organisation in
 * turn while the answer says the channel is not in that workspace.
 */
async function withWorkspaceClient(
  deps: SenderDeps,
  input: { orgId: bigint; teamId: string | undefined; what: string },
  call: (workspace: WorkspaceClient) => Promise<SendOutcome>,
): Promise<SendOutcome> {
  const { orgId, teamId } = input;
  const candidates = teamId
    ? [await deps.clients.forWorkspace({ orgId, teamId })].filter((c): c is WorkspaceClient => c !== null)
    : await deps.clients.forOrganisation(orgId);
  let last: SendOutcome = notInstalled;
  for (const workspace of candidates) {
    last = await call(workspace);
    if (last.ok || !otherWorkspaceErrors.has(last.detail ?? '')) return last;
  }
  if (last === notInstalled) deps.logger.warn({ what: input.what, teamId }, 'Slack: Allot is not installed there');
  return last;
}

/**
 * A direct message: conversations.open (its channel id cached per installation and person) and
 * chat.postMessage, with the token of the workspace the person was met in.
 */
async function sendDirectMessage(
  deps: SenderDeps,
  dmChannels: Map<string, string>,
  input: { orgId: bigint; identity: MemberIdentity; message: ChatMessage },
): Promise<SendOutcome> {
  const { orgId, identity } = input;
  const workspace = await deps.clients.forWorkspace({ orgId, teamId: identity.workspaceId });
  if (!workspace) return notInstalled;
  const body = toSlackMessage(input.message, await slackIdsFor(deps.orm(), orgId, input.message));
  const cacheKey = `${workspace.installation}:${identity.externalId}`;
  // A cached DM channel can go stale (the conversation was closed or the app reinstalled): then
  // open it again once.
  for (let attempt = 0; attempt < 2; attempt++) {
    const cached = attempt === 0 ? dmChannels.get(cacheKey) : undefined;
    let channel = cached;
    if (!channel) {
      const opened = await openDirectChannel(workspace.client, identity.externalId);
      if ('error' in opened) return failure(deps, opened.error, 'conversations.open');
      if (!opened.channel) return { ok: false, reason: 'failed', detail: 'no_channel' };
      channel = opened.channel;
      if (dmChannels.size >= dmChannelsCachedMax) dmChannels.clear();
      dmChannels.set(cacheKey, channel);
    }
    try {
      const posted = await workspace.client.chat.postMessage({ channel, ...body });
      return { ok: true, location: locationOf(posted.channel ?? channel, posted.ts, workspace.teamId) };
    } catch (error) {
      if (cached && slackErrorOf(error).code === 'channel_not_found') {
        dmChannels.delete(cacheKey);
        continue;
      }
      return failure(deps, error, 'chat.postMessage');
    }
  }
  return { ok: false, reason: 'failed', detail: 'no_channel' };
}

/**
 * Messages on Slack: direct messages, channel posts (the digest) and edits, each with the token of
 * the workspace the person or channel belongs to (SlackClients). A workspace Allot is not installed in
 * (never, or no more) gets no call at all: the send is `unreachable`. A 429 is retried by the
 * WebClient after Retry-After; any other failure is returned (never thrown) so the caller can tell the
 * person acting, and the ledger change that caused the message stands.
 */
export function createSlackSender(deps: SenderDeps): PlatformSender {
  // chat.postMessage allows about one message per second per channel (PLATFORMS.md §10).
  const channelLimiter = new SendLimiter(channelSendWindows);
  // DM channel ids by installation and Slack user: conversations.open is rate-limited at about 50 calls
  // a minute, far below a burst of grants, and its answer for a person does not change.
  const dmChannels = new Map<string, string>();
  return {
    platform: 'slack',
    sendDirect: (input) => sendDirectMessage(deps, dmChannels, input),
    /** A message in a channel (the weekly digest); the bot must be a member of the channel (/invite @Allot). */
    async postToChannel({ orgId, destination, message }) {
      const channel = destination.ref.channelId ?? destination.ref.channel;
      if (!channel) return { ok: false, reason: 'failed', detail: 'no_channel' };
      const body = toSlackMessage(message, await slackIdsFor(deps.orm(), orgId, message));
      const where = { orgId, teamId: destination.ref.teamId, what: 'chat.postMessage (channel)' };
      return withWorkspaceClient(deps, where, async (workspace) => {
        try {
          const post = () => workspace.client.chat.postMessage({ channel, ...body });
          const posted = await channelLimiter.run(channel, post);
          return { ok: true, location: locationOf(posted.channel ?? channel, posted.ts, workspace.teamId) };
        } catch (error) {
          return failure(deps, error, where.what);
        }
      });
    },
    async update({ orgId, location, message }) {
      const { channel, ts } = location.ref;
      if (!channel || !ts) return { ok: false, reason: 'failed', detail: 'bad_location' };
      const body = toSlackMessage(message, await slackIdsFor(deps.orm(), orgId, message));
      return withWorkspaceClient(
        deps,
        { orgId, teamId: location.ref.teamId, what: 'chat.update' },
        async (workspace) => {
          try {
            await workspace.client.chat.update({ channel, ts, ...body });
            return { ok: true, location };
          } catch (error) {
            return failure(deps, error, 'chat.update');
          }
        },
      );
    },
  };
}

/** Opens the DM channel with a Slack user (conversations.open). */
async function openDirectChannel(
  client: WebClient,
  userId: string,
): Promise<{ channel: string | undefined } | { error: unknown }> {
  try {
    return { channel: (await client.conversations.open({ users: userId })).channel?.id };
  } catch (error) {
    return { error };
  }
}
