import type { App, BlockAction, RespondFn, SlashCommand } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { AppDeps } from '../../app/module';
import { runAction } from '../../chat/actions.usecases';
import type { ChatDirectory, ChatOutcome } from '../../chat/chat.models';
import { firstDelivery, homeFor, resolveChatMember } from '../../chat/commands.usecases';
import type { Member, Organisation } from '../../members/members.repository';
import type { ChatMessage } from '../../notify/message.models';
import { toHomeView, toSlackMessage } from '../blockkit.presenter';
import { createSlackDirectory } from '../slack.directory';
import { slackIdsFor } from '../slack.sender';

// What the Slack listeners share: who is acting in a payload, how a reply is presented and where it
// goes (response_url, an ephemeral or direct message, the Home tab). Each kind of listener (commands,
// actions, views, events) has its own file beside this one and registers itself on the Bolt app.

export interface SlackListenerDeps {
  deps: AppDeps;
  /** Runs work after the acknowledgement, so shutdown can wait for it. */
  track(work: () => Promise<unknown>): Promise<unknown>;
}

/** Who is acting, from any Slack payload. */
export interface SlackActor {
  teamId: string;
  enterpriseId?: string;
  orgInstall: boolean;
  userId: string;
  teamName?: string;
}

/** Where a deny modal was opened from, carried in its private_metadata. */
export interface DenyOrigin {
  requestId: string;
  teamId: string;
  enterpriseId?: string;
  orgInstall?: boolean;
  channel?: string;
  fromHome?: boolean;
}

/** How a click is answered: on the Home tab, through response_url, or privately in its channel. */
export interface ClickAnswer {
  org: Organisation;
  member: Member;
  who: SlackActor;
  outcome: ChatOutcome;
  fromHome: boolean;
  channel?: string;
  respond?: RespondFn;
  isCancel?: boolean;
}

/**
 * The helpers a listener uses for one request, bound to the Web API client Bolt hands it: that client
 * carries the token of the request's workspace (its installation, or SLACK_BOT_TOKEN), so every call
 * made for a request speaks for the workspace it came from.
 */
export interface SlackRequestKit {
  client: WebClient;
  directory: ChatDirectory;
  actorOf(who: SlackActor): Promise<{ org: Organisation; member: Member }>;
  publishHome(orgId: bigint, memberId: bigint, userId: string): Promise<void>;
  answerClick(input: ClickAnswer): Promise<void>;
  /** Runs a click (a button, or the deny form) as the person acting, once per delivery (`deliveryKey`). */
  click(
    who: SlackActor,
    clicked: { actionId: string; value: string; note?: string; deliveryKey?: string },
  ): Promise<{ org: Organisation; member: Member; outcome: ChatOutcome } | null>;
}

/** The helpers every listener uses, bound to one app's dependencies. */
export interface SlackListenerKit extends SlackListenerDeps {
  present(orgId: bigint, message: ChatMessage): Promise<ReturnType<typeof toSlackMessage>>;
  respondSafely(respond: RespondFn, body: Record<string, unknown>): Promise<void>;
  /** The helpers for one request, speaking through the client Bolt gave its listener. */
  forRequest(client: WebClient): SlackRequestKit;
  /**
   * True the first time a delivery (a command, a click, an event) is seen for the organisation; false
   * when Slack (or someone replaying a signed request) delivers it again, which must then do nothing.
   */
  firstDelivery(orgId: bigint, deliveryKey: string): Promise<boolean>;
}

/** A kind of listener: registers its handlers on the app. */
export type RegisterListeners = (app: App, kit: SlackListenerKit) => void;

/** Binds the shared helpers to one app's dependencies. */
export function createListenerKit(listener: SlackListenerDeps): SlackListenerKit {
  const { deps } = listener;

  const present = async (orgId: bigint, message: ChatMessage) =>
    toSlackMessage(message, await slackIdsFor(deps.ctx.db.orm, orgId, message));

  async function respondSafely(respond: RespondFn, body: Record<string, unknown>) {
    try {
      await respond(body);
    } catch (error) {
      deps.logger.warn({ err: error }, 'could not answer through response_url');
    }
  }

  const kit: SlackListenerKit = {
    ...listener,
    present,
    respondSafely,
    forRequest: (client) => createRequestKit(kit, client),
    firstDelivery: (orgId, deliveryKey) => firstDelivery(deps, orgId, deliveryKey),
  };
  return kit;
}

function createRequestKit(kit: SlackListenerKit, client: WebClient): SlackRequestKit {
  const { deps, present } = kit;
  const directory: ChatDirectory = createSlackDirectory(client);

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

  async function answerClick(input: ClickAnswer) {
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
      await kit.respondSafely(input.respond, {
        response_type: 'ephemeral',
        replace_original: replace,
        ...(await present(org.id, outcome.reply)),
      });
      return;
    }
    await tellPrivately(org.id, who.userId, input.channel, outcome.reply);
  }

  const actorOf = (who: SlackActor) => resolveSlackActor(deps, directory, who);

  return {
    client,
    directory,
    actorOf,
    async click(who, { deliveryKey, ...clicked }) {
      const { org, member } = await actorOf(who);
      if (deliveryKey && !(await kit.firstDelivery(org.id, deliveryKey))) return null;
      const outcome = await runAction(deps, { platform: 'slack', org, actor: member, ...clicked });
      return { org, member, outcome };
    },
    publishHome,
    answerClick,
  };
}

/**
 * The organisation and member behind a Slack actor: an org-wide (Enterprise Grid) install is one
 * organisation keyed by the enterprise id, otherwise the workspace (team) id is the key.
 */
function resolveSlackActor(deps: AppDeps, directory: ChatDirectory, who: SlackActor) {
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

/** The person acting on a slash command. */
export function commandActor(command: SlashCommand): SlackActor {
  return {
    teamId: command.team_id,
    enterpriseId: command.enterprise_id,
    orgInstall: command.is_enterprise_install === 'true',
    userId: command.user_id,
    teamName: command.team_domain,
  };
}

/** The person clicking a button. */
export function actionActor(body: BlockAction): SlackActor {
  return {
    teamId: body.team?.id ?? body.user.team_id ?? '',
    enterpriseId: body.enterprise?.id,
    orgInstall: Boolean(body.is_enterprise_install),
    userId: body.user.id,
    teamName: body.team?.domain,
  };
}
