import { ActivityTypes, type TeamsChannelAccount, TeamsInfo, TurnContext } from 'botbuilder';
import type { AppDeps } from '../app/module';
import { recordInboundDelivery, releaseInboundDelivery } from '../chat/chat.repository';
import type { Member, Organisation } from '../members/members.repository';
import { listIdentities } from '../members/members.repository';
import type { ChatMessage } from '../notify/message.models';
import {
  type CardOptions,
  cardActivity,
  cardInvokeResponse,
  errorInvokeResponse,
  messageInvokeResponse,
  parseCardActionData,
  type TeamsMention,
} from './teams.cards.models';
import type { CommandToken, TeamsChatCore } from './teams.core';
import { withConnectorRetries } from './teams.delivery';
import { createTeamsTurnDirectory, type TeamsTurnDirectory } from './teams.directory';
import type { TeamsOutbound } from './teams.outbound';
import { mentionEntities, type RawToken, tokenizeCommandText } from './teams.text.models';
import {
  forgetConversation,
  idempotencyKeyOfActivity,
  organisationForActivity,
  rememberConversation,
  rootConversationId,
  type TeamsAccount,
  teamsUserOf,
  tenantOfActivity,
} from './teams.usecases';

/** Most distinct people one command may name; each costs a member lookup at Teams. */
export const commandMentionsMax = 50;
/** Most people a reply card mentions with a real Teams mention (the rest appear by name). */
const cardMentionsMax = 20;

const invokeResponseType = 'invokeResponse';

/**
 * Routes one Teams turn: conversation and installation updates are remembered, messages become
 * commands (or Action.Submit clicks), `adaptiveCard/action` invokes become button clicks. Any other
 * invoke gets no answer, which CloudAdapter turns into 501.
 */
export class TeamsTurnHandler {
  constructor(
    private readonly deps: AppDeps,
    private readonly core: TeamsChatCore,
    private readonly outbound: TeamsOutbound,
  ) {}

  async run(context: TurnContext): Promise<void> {
    const { activity } = context;
    switch (activity.type) {
      case ActivityTypes.Message:
        return this.onMessage(context);
      case ActivityTypes.ConversationUpdate:
        return this.onConversationUpdate(context);
      case ActivityTypes.InstallationUpdate:
        return this.onInstallationUpdate(context);
      case ActivityTypes.Invoke:
        if (activity.name === 'adaptiveCard/action') return this.onCardAction(context);
        return;
      default:
        return;
    }
  }

  private async remember(context: TurnContext): Promise<Organisation> {
    const organisation = await organisationForActivity(this.deps.ctx, context.activity);
    await rememberConversation(this.deps.ctx, {
      orgId: organisation.id,
      activity: context.activity,
      reference: TurnContext.getConversationReference(context.activity),
    });
    return organisation;
  }

  private async onConversationUpdate(context: TurnContext): Promise<void> {
    const organisation = await this.remember(context);
    const { activity } = context;
    const botRemoved = activity.membersRemoved?.some((member) => member.id === activity.recipient?.id);
    if (botRemoved && activity.conversation?.id) {
      await forgetConversation(this.deps.ctx, {
        orgId: organisation.id,
        conversationId: activity.conversation.id,
        reason: 'bot removed from the conversation',
      });
    }
  }

  private async onInstallationUpdate(context: TurnContext): Promise<void> {
    const organisation = await this.remember(context);
    const { activity } = context;
    const action = typeof activity.action === 'string' ? activity.action : '';
    if (action.startsWith('remove') && activity.conversation?.id) {
      await forgetConversation(this.deps.ctx, {
        orgId: organisation.id,
        conversationId: activity.conversation.id,
        reason: 'app uninstalled',
      });
    }
  }

  /** TeamsInfo.getMember with the delivery policy; undefined when Teams does not know the person here. */
  private async loadAccount(context: TurnContext, userId: string): Promise<TeamsAccount | undefined> {
    const result = await withConnectorRetries<TeamsChannelAccount>(
      () => TeamsInfo.getMember(context, userId),
      this.outbound.retryPolicy,
    );
    if (result.ok) return result.value;
    this.deps.logger.warn(
      { userId, status: result.error.status, code: result.error.code },
      'Teams member lookup failed; using what the activity says',
    );
    return undefined;
  }

  /** The member acting, through the chat core's one path (TeamsChatCore.resolveActor). */
  private async actorOf(context: TurnContext, organisation: Organisation, directory: TeamsTurnDirectory) {
    const from = context.activity.from;
    const tenantId = tenantOfActivity(context.activity);
    const seen = await teamsUserOf(this.deps.ctx, {
      orgId: organisation.id,
      tenantId,
      userId: from.id,
      aadObjectId: from.aadObjectId,
      name: from.name,
      loadAccount: () => this.loadAccount(context, from.id),
    });
    directory.remember(seen);
    return this.core.resolveActor({ tenantId, user: seen.ref, directory });
  }

  /**
   * Mentions become people: their Entra object id comes from the entity, a known identity or
   * TeamsInfo.getMember, never from the text. The core creates the members it has not met, from `directory`.
   */
  private async resolveTokens(
    context: TurnContext,
    organisation: Organisation,
    raw: RawToken[],
    directory: TeamsTurnDirectory,
  ): Promise<CommandToken[]> {
    const tenantId = tenantOfActivity(context.activity);
    const resolved = new Map<string, CommandToken>();
    const tokens: CommandToken[] = [];
    for (const token of raw) {
      if (token.kind === 'word') {
        tokens.push(token);
        continue;
      }
      let mention = resolved.get(token.mentionedId);
      if (!mention) {
        if (resolved.size >= commandMentionsMax) {
          tokens.push({ kind: 'word', text: `@${token.name}` });
          continue;
        }
        const seen = await teamsUserOf(this.deps.ctx, {
          orgId: organisation.id,
          tenantId,
          userId: token.mentionedId,
          aadObjectId: token.aadObjectId,
          name: token.name,
          loadAccount: () => this.loadAccount(context, token.mentionedId),
        });
        directory.remember(seen);
        mention = { kind: 'mention', user: seen.ref };
        resolved.set(token.mentionedId, mention);
      }
      tokens.push(mention);
    }
    return tokens;
  }

  /** Real Teams mentions for the members a message names, where their Teams identity is known. */
  private async cardOptions(orgId: bigint, message: ChatMessage): Promise<CardOptions> {
    const memberIds = new Map<bigint, string>();
    const visit = (line: ChatMessage['blocks'][number]) => {
      const lines =
        line.type === 'text'
          ? line.lines
          : line.type === 'context'
            ? [line.line]
            : line.type === 'fields'
              ? line.fields.map((field) => field.value)
              : [];
      for (const spans of lines)
        for (const span of spans)
          if (typeof span === 'object' && 'member' in span && memberIds.size < cardMentionsMax)
            memberIds.set(span.member.id, span.member.name);
    };
    for (const block of message.blocks) visit(block);
    const mentions = new Map<bigint, TeamsMention>();
    for (const [memberId, name] of memberIds) {
      const identity = (await listIdentities(this.deps.ctx.db.orm, orgId, memberId)).find(
        (candidate) => candidate.platform === 'teams',
      );
      if (identity) mentions.set(memberId, { id: identity.externalId, name });
    }
    return { mentions };
  }

  private async reply(context: TurnContext, orgId: bigint, message: ChatMessage): Promise<void> {
    const sent = await this.outbound.send(context, cardActivity(message, await this.cardOptions(orgId, message)));
    if (sent.ok) return;
    if (sent.error.kind === 'unreachable' && context.activity.conversation?.id) {
      await forgetConversation(this.deps.ctx, {
        orgId,
        conversationId: context.activity.conversation.id,
        reason: `403 ${sent.error.code ?? 'Forbidden'}`,
      });
    }
    this.deps.logger.warn(
      { status: sent.error.status, code: sent.error.code, attempts: sent.attempts },
      'Teams reply could not be delivered',
    );
  }

  private async onMessage(context: TurnContext): Promise<void> {
    const { activity } = context;
    const organisation = await this.remember(context);
    const key = idempotencyKeyOfActivity(activity);
    if (key) {
      // One dedupe store for every platform (inbound_deliveries); the key is `teams:<digest>`.
      const claimed = await recordInboundDelivery(
        this.deps.ctx.db.orm,
        organisation.id,
        key,
        this.deps.ctx.clock.now(),
      );
      if (!claimed) {
        this.deps.logger.info({ activityId: activity.id }, 'Teams activity delivered again; already handled');
        return;
      }
    }
    let coreDone = false;
    try {
      const directory = createTeamsTurnDirectory();
      const actor = await this.actorOf(context, organisation, directory);
      const idempotencyKey = key ?? `teams:unkeyed:${activity.id ?? 'none'}`;
      if (activity.value !== undefined && activity.value !== null) {
        // An Action.Submit click (clients without universal actions) arrives as a message with `value`.
        const clicked = parseCardActionData(activity.value);
        if (!clicked) return;
        const outcome = await this.click(organisation, actor, clicked);
        coreDone = true;
        if (outcome.card && !outcome.cardEditedEverywhere && activity.replyToId) {
          await this.editCard(context, organisation.id, activity.replyToId, outcome.card);
        }
        if (!outcome.ok || !outcome.card) await this.reply(context, organisation.id, outcome.reply);
        return;
      }
      // The bot's own mentions are dropped by the tokenizer with every other piece of mention text.
      const raw = tokenizeCommandText(
        activity.text ?? '',
        mentionEntities(activity.entities),
        activity.recipient ?? {},
      );
      const tokens = await this.resolveTokens(context, organisation, raw, directory);
      const conversationType = activity.conversation?.conversationType;
      const outcome = await this.core.runCommand({
        org: organisation,
        actor,
        directory,
        tokens,
        idempotencyKey,
        conversation: activity.conversation?.id
          ? {
              id: rootConversationId(activity.conversation.id),
              type: conversationType === 'channel' || conversationType === 'groupChat' ? conversationType : 'personal',
            }
          : undefined,
      });
      coreDone = true;
      await this.reply(context, organisation.id, outcome.reply);
    } catch (error) {
      // Nothing happened yet: let Teams' redelivery (or the person retrying) run it again.
      if (key && !coreDone) {
        await releaseInboundDelivery(this.deps.ctx.db.orm, organisation.id, key);
      }
      throw error;
    }
  }

  /** A click on one of Allot's card buttons (Action.Execute or Action.Submit), run by the core. */
  private click(org: Organisation, actor: Member, clicked: { action: string; value: string; note?: string }) {
    return this.core.runAction({ org, actor, actionId: clicked.action, value: clicked.value, note: clicked.note });
  }

  /** Edits a sent card for everyone in the conversation (PUT …/activities/{id}). */
  private async editCard(context: TurnContext, orgId: bigint, activityId: string, card: ChatMessage): Promise<void> {
    const updated = await this.outbound.update(context, {
      ...cardActivity(card, await this.cardOptions(orgId, card)),
      id: activityId,
    });
    if (!updated.ok) {
      this.deps.logger.warn(
        { activityId, status: updated.error.status, code: updated.error.code },
        'Teams card could not be edited for everyone',
      );
    }
  }

  private async answerInvoke(context: TurnContext, body: unknown): Promise<void> {
    await context.sendActivity({ type: invokeResponseType, value: { status: 200, body } });
  }

  private async onCardAction(context: TurnContext): Promise<void> {
    const { activity } = context;
    try {
      const organisation = await this.remember(context);
      const action = (activity.value as { action?: { type?: unknown; verb?: unknown; data?: unknown } } | undefined)
        ?.action;
      const clicked = parseCardActionData(action?.data);
      if (!clicked || (typeof action?.verb === 'string' && action.verb !== clicked.action)) {
        await this.answerInvoke(context, errorInvokeResponse(400, 'This button is not one of Allot\u2019s.'));
        return;
      }
      const actor = await this.actorOf(context, organisation, createTeamsTurnDirectory());
      // Invokes are not claimed like messages: a repeated click must get the card's current state back,
      // and the core decides a request at most once whatever the number of clicks.
      const outcome = await this.click(organisation, actor, clicked);
      if (outcome.card) {
        await this.answerInvoke(
          context,
          cardInvokeResponse(outcome.card, await this.cardOptions(organisation.id, outcome.card)),
        );
        if (!outcome.cardEditedEverywhere && activity.replyToId) {
          await this.editCard(context, organisation.id, activity.replyToId, outcome.card);
        }
        // A late or refused click keeps the card as it is; the clicker is told why in a message.
        if (!outcome.ok) await this.reply(context, organisation.id, outcome.reply);
      } else {
        await this.answerInvoke(context, messageInvokeResponse(outcome.reply.summary));
      }
    } catch (error) {
      this.deps.logger.error({ err: error, activityId: activity.id }, 'Teams card action failed');
      await this.answerInvoke(context, errorInvokeResponse(500, 'Something went wrong; please try again.'));
    }
  }
}
