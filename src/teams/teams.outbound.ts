import type { Activity, ConversationReference, ResourceResponse, TurnContext } from 'botbuilder';
import type { Logger } from '../lib/logger';
import {
  type ConnectorErrorInfo,
  ConversationLimiter,
  type DeliveryResult,
  defaultRetryPolicy,
  type RetryPolicy,
  withConnectorRetries,
} from './teams.delivery';

/**
 * Every write Allot makes to a Teams conversation goes through here: spaced by the per-conversation
 * limiter and retried by the delivery policy, inside a turn (replies) or a proactive continuation.
 */
export class TeamsOutbound {
  readonly limiter: ConversationLimiter;

  constructor(
    private readonly logger: Logger,
    readonly retryPolicy: RetryPolicy = defaultRetryPolicy,
    limiter?: ConversationLimiter,
  ) {
    this.limiter = limiter ?? new ConversationLimiter();
  }

  private conversationOf(context: TurnContext): string {
    return context.activity.conversation?.id ?? 'unknown';
  }

  private onRetry(conversationId: string) {
    return (info: ConnectorErrorInfo, attempt: number, delayMs: number) =>
      this.logger.warn(
        { conversationId, status: info.status, code: info.code, attempt, delayMs },
        'Teams send retried',
      );
  }

  async send(context: TurnContext, activity: Partial<Activity>): Promise<DeliveryResult<ResourceResponse | undefined>> {
    const conversationId = this.conversationOf(context);
    return withConnectorRetries(
      () => this.limiter.run(conversationId, () => context.sendActivity(activity)),
      this.retryPolicy,
      this.onRetry(conversationId),
    );
  }

  async update(context: TurnContext, activity: Partial<Activity>): Promise<DeliveryResult<void>> {
    const conversationId = this.conversationOf(context);
    return withConnectorRetries(
      async () => {
        await this.limiter.run(conversationId, () => context.updateActivity(activity));
      },
      this.retryPolicy,
      this.onRetry(conversationId),
    );
  }
}

/** A reference as stored, back in the shape botbuilder wants. */
export function referenceFromJson(value: Record<string, unknown>): Partial<ConversationReference> {
  return value as Partial<ConversationReference>;
}
