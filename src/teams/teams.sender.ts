import type { CloudAdapter, ConversationReference, TurnContext } from 'botbuilder';
import type { Ctx } from '../lib/context';
import type { Logger } from '../lib/logger';
import type { MemberIdentity } from '../members/members.repository';
import type { ChatMessage } from '../notify/message.models';
import type { MessageLocation, PlatformSender, SendOutcome } from '../notify/notifier';
import { type CardOptions, cardActivity } from './teams.cards.models';
import type { DeliveryResult } from './teams.delivery';
import { referenceFromJson, type TeamsOutbound } from './teams.outbound';
import * as teamsRepo from './teams.repository';
import { forgetConversation, rememberConversation } from './teams.usecases';

/**
 * Proactive messages to Teams members (approval requests, grant notices, digests): written into the
 * person's personal chat with the bot through its stored conversation reference. A 403 means Teams
 * will not let the bot write there (removed, blocked, uninstalled): the reference is marked
 * unreachable and the caller is told, so it can tell the actor; the ledger change stands.
 */
export class TeamsSender implements PlatformSender {
  readonly platform = 'teams' as const;

  constructor(
    private readonly options: {
      ctx: Ctx;
      logger: Logger;
      adapter: CloudAdapter;
      /** The bot's app id; '' when authentication is off. */
      botAppId: string;
      outbound: TeamsOutbound;
      cardOptions?: (orgId: bigint, message: ChatMessage) => Promise<CardOptions>;
    },
  ) {}

  /** Runs `write` in a continuation of the stored conversation; failures come back as a DeliveryResult. */
  private async continueIn<T>(
    reference: Partial<ConversationReference>,
    write: (context: TurnContext) => Promise<DeliveryResult<T>>,
  ): Promise<DeliveryResult<T>> {
    let result: DeliveryResult<T> | undefined;
    try {
      await this.options.adapter.continueConversationAsync(this.options.botAppId, reference, async (context) => {
        result = await write(context);
      });
    } catch (cause) {
      return {
        ok: false,
        error: { kind: 'fatal', status: undefined, code: undefined, retryAfterMs: undefined },
        attempts: 1,
        cause,
      };
    }
    return (
      result ?? {
        ok: false,
        error: { kind: 'fatal', status: undefined, code: undefined, retryAfterMs: undefined },
        attempts: 0,
        cause: new Error('the continuation did not run'),
      }
    );
  }

  private async failed(
    orgId: bigint,
    conversationId: string,
    result: Extract<DeliveryResult<unknown>, { ok: false }>,
  ): Promise<SendOutcome> {
    const detail = `${result.error.status ?? 'no status'} ${result.error.code ?? ''}`.trim();
    if (result.error.kind === 'unreachable') {
      await forgetConversation(this.options.ctx, { orgId, conversationId, reason: detail });
      this.options.logger.warn({ conversationId, detail }, 'Teams conversation unreachable; marked so');
      return { ok: false, reason: 'unreachable', detail };
    }
    this.options.logger.error(
      { conversationId, detail, attempts: result.attempts, err: result.cause },
      'Teams proactive message failed',
    );
    return { ok: false, reason: 'failed', detail };
  }

  private async activityFor(orgId: bigint, message: ChatMessage) {
    return cardActivity(message, (await this.options.cardOptions?.(orgId, message)) ?? {});
  }

  async sendDirect(input: { orgId: bigint; identity: MemberIdentity; message: ChatMessage }): Promise<SendOutcome> {
    const { ctx } = this.options;
    const conversation = await teamsRepo.findPersonalConversation(ctx.db.orm, input.orgId, input.identity.externalId);
    if (!conversation) return this.startPersonalChat(input);
    if (!conversation.reachable) {
      return { ok: false, reason: 'unreachable', detail: conversation.unreachableReason ?? 'unreachable' };
    }
    const activity = await this.activityFor(input.orgId, input.message);
    const result = await this.continueIn(referenceFromJson(conversation.reference), (context) =>
      this.options.outbound.send(context, activity),
    );
    if (!result.ok) return this.failed(input.orgId, conversation.conversationId, result);
    return {
      ok: true,
      location: {
        platform: 'teams',
        ref: { conversationId: conversation.conversationId, activityId: result.value?.id ?? '' },
      },
    };
  }

  /**
   * A person who never wrote to the bot has no personal chat yet. Teams creates one (POST
   * v3/conversations) when the app is installed for them; the service URL and bot account come from
   * another conversation in the same tenant, the person's 29: id from their identity.
   */
  private async startPersonalChat(input: {
    orgId: bigint;
    identity: MemberIdentity;
    message: ChatMessage;
  }): Promise<SendOutcome> {
    const { ctx } = this.options;
    const userId = typeof input.identity.details.userId === 'string' ? input.identity.details.userId : undefined;
    const template = await teamsRepo.findLatestConversation(ctx.db.orm, input.orgId);
    const bot = (template?.reference as { bot?: { id?: string; name?: string } } | undefined)?.bot;
    if (!userId || !template || !bot?.id) {
      return { ok: false, reason: 'unreachable', detail: 'no personal chat with the bot yet' };
    }
    const activity = await this.activityFor(input.orgId, input.message);
    let result: DeliveryResult<{ id?: string } | undefined> | undefined;
    let conversationId = '';
    try {
      await this.options.adapter.createConversationAsync(
        this.options.botAppId,
        'msteams',
        template.serviceUrl,
        // undefined lets the connector factory use the configured cloud's default audience.
        undefined as unknown as string,
        {
          isGroup: false,
          bot: { id: bot.id, name: bot.name ?? 'Allot' },
          members: [{ id: userId, name: '' }],
          tenantId: input.identity.workspaceId,
          channelData: { tenant: { id: input.identity.workspaceId } },
        } as Parameters<CloudAdapter['createConversationAsync']>[4],
        async (context) => {
          conversationId = context.activity.conversation?.id ?? '';
          const reference = {
            channelId: 'msteams',
            serviceUrl: template.serviceUrl,
            bot: { id: bot.id!, name: bot.name ?? 'Allot' },
            user: { id: userId, name: '', aadObjectId: input.identity.externalId },
            conversation: {
              id: conversationId,
              conversationType: 'personal',
              tenantId: input.identity.workspaceId,
              isGroup: false,
              name: '',
            },
          };
          await rememberConversation(ctx, {
            orgId: input.orgId,
            activity: {
              serviceUrl: template.serviceUrl,
              conversation: reference.conversation,
              from: reference.user,
              recipient: reference.bot,
              channelData: { tenant: { id: input.identity.workspaceId } },
            },
            reference,
          });
          result = await this.options.outbound.send(context, activity);
        },
      );
    } catch (cause) {
      this.options.logger.warn({ err: cause, userId }, 'Teams could not start a personal chat');
      return {
        ok: false,
        reason: 'unreachable',
        detail: 'Teams could not start a personal chat (is the app installed?)',
      };
    }
    if (!result) return { ok: false, reason: 'failed', detail: 'no personal chat created' };
    if (!result.ok) return this.failed(input.orgId, conversationId, result);
    return { ok: true, location: { platform: 'teams', ref: { conversationId, activityId: result.value?.id ?? '' } } };
  }

  /** Posts into a channel or group chat through its stored conversation reference (the weekly digest). */
  async postToChannel(input: {
    orgId: bigint;
    destination: MessageLocation;
    message: ChatMessage;
  }): Promise<SendOutcome> {
    const { conversationId } = input.destination.ref;
    if (!conversationId) return { ok: false, reason: 'failed', detail: 'not a Teams conversation' };
    const conversation = await teamsRepo.findConversation(this.options.ctx.db.orm, input.orgId, conversationId);
    if (!conversation) {
      return {
        ok: false,
        reason: 'unreachable',
        detail: 'Allot has not seen that conversation; mention the bot there once',
      };
    }
    if (!conversation.reachable) {
      return { ok: false, reason: 'unreachable', detail: conversation.unreachableReason ?? 'unreachable' };
    }
    const activity = await this.activityFor(input.orgId, input.message);
    const result = await this.continueIn(referenceFromJson(conversation.reference), (context) =>
      this.options.outbound.send(context, activity),
    );
    if (!result.ok) return this.failed(input.orgId, conversationId, result);
    return { ok: true, location: { platform: 'teams', ref: { conversationId, activityId: result.value?.id ?? '' } } };
  }

  async update(input: { orgId: bigint; location: MessageLocation; message: ChatMessage }): Promise<SendOutcome> {
    const { conversationId, activityId } = input.location.ref;
    if (!conversationId || !activityId) return { ok: false, reason: 'failed', detail: 'not a Teams message location' };
    const conversation = await teamsRepo.findConversation(this.options.ctx.db.orm, input.orgId, conversationId);
    if (!conversation) return { ok: false, reason: 'failed', detail: 'conversation not known' };
    if (!conversation.reachable) {
      return { ok: false, reason: 'unreachable', detail: conversation.unreachableReason ?? 'unreachable' };
    }
    const activity = { ...(await this.activityFor(input.orgId, input.message)), id: activityId };
    const result = await this.continueIn(referenceFromJson(conversation.reference), (context) =>
      this.options.outbound.update(context, activity),
    );
    if (!result.ok) {
      // A 404 on an edit means the message is gone, not that the conversation is.
      if (result.error.kind === 'not_found') return { ok: false, reason: 'failed', detail: 'message not found' };
      return this.failed(input.orgId, conversationId, result);
    }
    return { ok: true, location: input.location };
  }
}
