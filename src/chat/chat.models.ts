import type { Config } from '../config/config';
import type { Ctx } from '../lib/context';
import type { Logger } from '../lib/logger';
import type { Metrics } from '../lib/metrics';
import type { IdentityPlatform, Member, Organisation } from '../members/members.repository';
import type { PlatformProfile } from '../members/members.usecases';
import type { ChatMessage } from '../notify/message.models';
import type { Notifier, SendOutcome } from '../notify/notifier';
import type { LeaderboardWindow } from '../usage/usage.tables';
import type { ChatFailure } from './replies.models';
import type { CommandPlace } from './schedules.bridge';
import type { ChatUserRef, CommandToken } from './words.models';

// The shapes the chat core and its adapters share: what the core needs (ChatDeps), what an adapter
// hands it (RunCommandInput, RunActionInput) and what comes back (ChatOutcome). Types only.

export interface ChatExtensions {
  /** The value-weighted leaderboard, when the usage module provides one. */
  leaderboard?(input: { orgId: bigint; actor: Member; window: LeaderboardWindow }): Promise<ChatMessage>;
}

export interface ChatDeps {
  ctx: Ctx;
  config: Pick<Config, 'ALLOT_ADMINS' | 'APPROVAL_EXPIRY_HOURS' | 'DASHBOARD_URL'>;
  notifier: Notifier;
  logger: Logger;
  chatExtensions?: ChatExtensions;
  /** Counts commands by platform, command and outcome for GET /metrics. */
  metrics?: Pick<Metrics, 'chatCommands'>;
}

/** A platform's profile of a person, with what the platform keeps on their identity (e.g. Teams' 29: id). */
export interface ChatProfile extends PlatformProfile {
  identityDetails?: Record<string, unknown>;
}

/** How an adapter looks up a person the core has not met: the platform's profile, or null if unknown there. */
export interface ChatDirectory {
  loadProfile(user: ChatUserRef): Promise<ChatProfile | null>;
}

export interface DeliveryReport {
  memberId: bigint;
  purpose:
    | 'grant_notice'
    | 'budget_notice'
    | 'approval_request'
    | 'approval_update'
    | 'decision_notice'
    | 'dashboard_link';
  outcome: SendOutcome;
}

export interface ChatOutcome {
  /** Shown to the person acting only (Slack: ephemeral; Teams: a reply in the conversation). */
  reply: ChatMessage;
  ok: boolean;
  failure?: ChatFailure | 'grammar';
  /** For a click on an approval message or a confirmation question: what that message should show now. */
  card?: ChatMessage;
  /** True when the reply is a question with Confirm and Cancel buttons (a large operation, nothing moved yet). */
  confirmation?: boolean;
  deliveries: DeliveryReport[];
}

export interface RunCommandInput {
  platform: IdentityPlatform;
  org: Organisation;
  actor: Member;
  /** "grant-tokens", "/grant-tokens", … */
  command: string;
  tokens: CommandToken[];
  /** From the source: `slack:<team>:<trigger_id>`, `teams:<activity id>`. */
  idempotencyKey: string;
  directory: ChatDirectory;
  /** Where the command was typed (the digest is posted there unless a channel is named). */
  place?: CommandPlace;
  /** Who sees the reply (default `shared`): a secret, such as a sign-in link, goes by direct message unless `private`. */
  replyVisibility?: ReplyVisibility;
}

/**
 * Who sees a reply: `private`, only the person acting (a Slack ephemeral message or response_url, a Slack
 * DM, a Teams personal chat); `shared`, possibly others (a Teams group chat or channel).
 */
export type ReplyVisibility = 'private' | 'shared';

/** Where a person acts from: a chat platform, or the web dashboard (which clicks the same buttons). */
export type ActingPlatform = IdentityPlatform | 'web';

export interface RunActionInput {
  platform: ActingPlatform;
  org: Organisation;
  actor: Member;
  /** request.approve | request.deny | request.cancel | operation.confirm | operation.cancel */
  actionId: string;
  /** The request id carried by the button (for an operation: the operation, confirmations.models.ts). */
  value: string;
  /** The reason typed when denying. */
  note?: string;
  /** Who sees the reply (default `shared`), as for commands. */
  replyVisibility?: ReplyVisibility;
}

/** Who posts an operation: the member acting, on a platform, in an organisation. */
export interface OperationActor {
  platform: IdentityPlatform;
  orgId: bigint;
  actor: Member;
}
