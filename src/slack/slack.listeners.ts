import type { App, BlockAction, ButtonAction, RespondFn, SlashCommand, ViewSubmitAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import {
  type ChatDirectory,
  type ChatOutcome,
  firstDelivery,
  homeFor,
  resolveChatMember,
  runAction,
  runCommand,
} from '../chat/commands.usecases';
import { actionIds, failureReply } from '../chat/replies.models';
import type { AppDeps } from '../lib/module';
import { findOrganisationByWorkspace, type Member, type Organisation } from '../members/members.repository';
import { refreshMemberFromPlatform } from '../members/members.usecases';
import type { ChatMessage } from '../notify/message.models';
import {
  denyModal,
  denyModalCallbackId,
  denyReasonActionId,
  denyReasonBlockId,
  toHomeView,
  toSlackMessage,
} from './blockkit.presenter';
import { createSlackDirectory } from './slack.directory';
import { slackIdsFor } from './slack.sender';
import { tokenizeSlackText } from './slack-text.models';
import { profileOfSlackUser, type SlackUser } from './slack-user.models';

export interface SlackListenerDeps {
  deps: AppDeps;
  client: WebClient;
  /** Runs work after the acknowledgement, so shutdown can wait for it. */
  track(work: () => Promise<unknown>): Promise<unknown>;
}

/** Where a deny modal was opened from, carried in its private_metadata. */
interface DenyOrigin {
  requestId: string;
  teamId: string;
  enterpriseId?: string;
  orgInstall?: boolean;
  channel?: string;
  fromHome?: boolean;
}

/** Who is acting, from any Slack payload. */
interface SlackActor {
  teamId: string;
  enterpriseId?: string;
  orgInstall: boolean;
  userId: string;
  teamName?: string;
}

/**
 * Every listener acknowledges first (Slack's 3-second deadline holds whatever the database is doing)
 * and then does the work, answering through response_url, the Web API or the Home tab.
 */
export function registerSlackListeners(app: App, listener: SlackListenerDeps): void {
  const { deps, client, track } = listener;
  const directory: ChatDirectory = createSlackDirectory(client);

  async function actorOf(who: SlackActor): Promise<{ org: Organisation; member: Member }> {
    return resolveChatMember(deps, {
      workspace: {
        platform: 'slack',
        externalId: who.orgInstall && who.enterpriseId ? who.enterpriseId : who.teamId,
        name: who.teamName,
      },
      user: { platform: 'slack', externalId: who.userId, workspaceId: who.teamId },
      directory,
    });
  }

  async function present(orgId: bigint, message: ChatMessage) {
    return toSlackMessage(message, await slackIdsFor(deps.ctx.db.orm, orgId, message));
  }

  async function respondSafely(respond: RespondFn, body: Record<string, unknown>) {
    try {
      await respond(body);
    } catch (error) {
      deps.logger.warn({ err: error }, 'could not answer through response_url');
    }
  }

  async function publishHome(orgId: bigint, memberId: bigint, userId: string) {
    const home = await homeFor(deps, { orgId, memberId });
    const ids = await slackIdsFor(deps.ctx.db.orm, orgId, home);
    await client.views.publish({
      user_id: userId,
      view: toHomeView(home, ids) as unknown as Parameters<WebClient['views']['publish']>[0]['view'],
    });
  }

  /** Tells one person something privately where no response_url exists (modals, the Home tab). */
  async function tellPrivately(orgId: bigint, userId: string, channel: string | undefined, message: ChatMessage) {
    const body = await present(orgId, message);
    try {
      if (channel) await client.chat.postEphemeral({ channel, user: userId, ...body });
      else await client.chat.postMessage({ channel: userId, ...body });
    } catch (error) {
      deps.logger.warn({ err: error }, 'could not tell the person acting');
    }
  }

  // --- slash commands ------------------------------------------------------------------------
  app.command(/^\/.+/, async ({ ack, command, respond }) => {
    await ack();
    await track(async () => {
      const who = commandActor(command);
      let orgId: bigint | undefined;
      try {
        const { org, member } = await actorOf(who);
        orgId = org.id;
        const outcome = await runCommand(deps, {
          platform: 'slack',
          org,
          actor: member,
          command: command.command,
          tokens: tokenizeSlackText(command.text ?? '', who.teamId),
          idempotencyKey: `slack:${who.teamId}:${command.trigger_id}`,
          directory,
          place: {
            platform: 'slack',
            id: command.channel_id,
            kind: command.channel_id.startsWith('D') ? 'direct' : 'channel',
          },
        });
        await respondSafely(respond, { response_type: 'ephemeral', ...(await present(org.id, outcome.reply)) });
      } catch (error) {
        deps.logger.error({ err: error, command: command.command }, 'Slack command failed');
        const reply = failureReply('internal_error');
        await respondSafely(respond, { response_type: 'ephemeral', ...toSlackMessage(reply, new Map()) });
        void orgId;
      }
    });
  });

  // --- buttons -------------------------------------------------------------------------------
  app.action<BlockAction<ButtonAction>>(/^request\.(approve|deny|cancel)$/, async ({ ack, body, action, respond }) => {
    await ack();
    const who = actionActor(body);
    const fromHome = body.container?.type === 'view';
    const channel = body.channel?.id ?? (body.container as { channel_id?: string } | undefined)?.channel_id;
    if (action.action_id === actionIds.deny) {
      // The trigger id lives 3 seconds: open the modal before touching the database.
      const origin: DenyOrigin = {
        requestId: action.value ?? '',
        teamId: who.teamId,
        enterpriseId: who.enterpriseId,
        orgInstall: who.orgInstall,
        channel: fromHome ? undefined : channel,
        fromHome,
      };
      try {
        await client.views.open({
          trigger_id: body.trigger_id,
          view: denyModal({ requestId: origin.requestId, privateMetadata: JSON.stringify(origin) }),
        });
        return;
      } catch (error) {
        deps.logger.warn({ err: error }, 'could not open the deny form; denying without a reason');
      }
    }
    await track(async () => {
      const { org, member } = await actorOf(who);
      const outcome = await runAction(deps, {
        platform: 'slack',
        org,
        actor: member,
        actionId: action.action_id,
        value: action.value ?? '',
      });
      await answerClick({
        org,
        member,
        who,
        outcome,
        fromHome,
        channel,
        respond,
        isCancel: action.action_id === actionIds.cancel,
      });
    });
  });

  // A large grant or budget issue asked its issuer to confirm, privately (an ephemeral message under the
  // command): the answer replaces that message, so its buttons go away once either is pressed.
  app.action<BlockAction<ButtonAction>>(/^operation\.(confirm|cancel)$/, async ({ ack, body, action, respond }) => {
    await ack();
    await track(async () => {
      const { org, member } = await actorOf(actionActor(body));
      const outcome = await runAction(deps, {
        platform: 'slack',
        org,
        actor: member,
        actionId: action.action_id,
        value: action.value ?? '',
      });
      await respondSafely(respond, {
        response_type: 'ephemeral',
        replace_original: outcome.card !== undefined,
        ...(await present(org.id, outcome.card ?? outcome.reply)),
      });
    });
  });

  async function answerClick(input: {
    org: Organisation;
    member: Member;
    who: SlackActor;
    outcome: ChatOutcome;
    fromHome: boolean;
    channel?: string;
    respond?: RespondFn;
    isCancel?: boolean;
  }) {
    const { org, member, who, outcome } = input;
    if (input.fromHome) {
      await publishHome(org.id, member.id, who.userId).catch((error) =>
        deps.logger.warn({ err: error }, 'could not refresh the Home tab'),
      );
      await tellPrivately(org.id, who.userId, undefined, outcome.reply);
      return;
    }
    if (input.respond) {
      // Cancelling from the requester's own (ephemeral) confirmation replaces it; otherwise the
      // clicker gets a private note and the approval messages were edited in place for everyone.
      const replace = Boolean(input.isCancel && outcome.ok);
      await respondSafely(input.respond, {
        response_type: 'ephemeral',
        replace_original: replace,
        ...(await present(org.id, outcome.reply)),
      });
      return;
    }
    await tellPrivately(org.id, who.userId, input.channel, outcome.reply);
  }

  // --- the deny form -------------------------------------------------------------------------
  app.view<ViewSubmitAction>(denyModalCallbackId, async ({ ack, body, view }) => {
    await ack();
    await track(async () => {
      let origin: DenyOrigin;
      try {
        origin = JSON.parse(view.private_metadata) as DenyOrigin;
      } catch {
        return;
      }
      const who: SlackActor = {
        teamId: origin.teamId || body.team?.id || body.user.team_id || '',
        enterpriseId: origin.enterpriseId,
        orgInstall: Boolean(origin.orgInstall),
        userId: body.user.id,
      };
      const note = view.state.values[denyReasonBlockId]?.[denyReasonActionId]?.value ?? undefined;
      const { org, member } = await actorOf(who);
      const outcome = await runAction(deps, {
        platform: 'slack',
        org,
        actor: member,
        actionId: actionIds.deny,
        value: origin.requestId,
        note: note ?? undefined,
      });
      await answerClick({ org, member, who, outcome, fromHome: Boolean(origin.fromHome), channel: origin.channel });
    });
  });

  // --- events --------------------------------------------------------------------------------
  app.event('app_home_opened', async ({ event, body }) => {
    if (event.tab !== 'home') return;
    const envelope = body as unknown as {
      team_id: string;
      event_id: string;
      enterprise_id?: string;
      is_ext_shared_channel?: boolean;
      authorizations?: { enterprise_id?: string | null; team_id?: string | null; is_enterprise_install?: boolean }[];
    };
    await track(async () => {
      const auth = envelope.authorizations?.[0];
      const who: SlackActor = {
        teamId: envelope.team_id,
        enterpriseId: auth?.enterprise_id ?? envelope.enterprise_id,
        orgInstall: Boolean(auth?.is_enterprise_install),
        userId: event.user,
      };
      const { org, member } = await actorOf(who);
      // Slack retries an event it thinks failed (x-slack-retry-num); the event id makes that a no-op.
      if (!(await firstDelivery(deps, org.id, `slack:event:${envelope.event_id}`))) return;
      await publishHome(org.id, member.id, event.user);
    });
  });

  // Slack tells the app when someone is deactivated, becomes a bot, an admin, or changes profile.
  app.event('user_change', async ({ event, body }) => {
    const envelope = body as unknown as {
      team_id: string;
      event_id: string;
      authorizations?: { enterprise_id?: string | null; is_enterprise_install?: boolean }[];
    };
    const user = event.user as unknown as SlackUser;
    await track(async () => {
      const auth = envelope.authorizations?.[0];
      const workspace = auth?.is_enterprise_install && auth.enterprise_id ? auth.enterprise_id : envelope.team_id;
      const org = await findOrganisationByWorkspace(deps.ctx.db.orm, 'slack', workspace);
      if (!org || !user?.id) return;
      await refreshMemberFromPlatform(deps.ctx, {
        orgId: org.id,
        platform: 'slack',
        externalId: user.id,
        profile: profileOfSlackUser(user, user.id),
      });
    });
  });

  app.error(async (error) => {
    deps.logger.error({ err: error }, 'Bolt reported an error');
  });
}

function commandActor(command: SlashCommand): SlackActor {
  return {
    teamId: command.team_id,
    enterpriseId: command.enterprise_id,
    orgInstall: command.is_enterprise_install === 'true',
    userId: command.user_id,
    teamName: command.team_domain,
  };
}

function actionActor(body: BlockAction): SlackActor {
  return {
    teamId: body.team?.id ?? body.user.team_id ?? '',
    enterpriseId: body.enterprise?.id,
    orgInstall: Boolean(body.is_enterprise_install),
    userId: body.user.id,
    teamName: body.team?.domain,
  };
}
