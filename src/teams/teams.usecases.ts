import { createHash } from 'node:crypto';
import type { Activity, ConversationReference } from 'botbuilder';
import type { ChatUserRef } from '../chat/words.models';
import type { Ctx } from '../lib/context';
import type { Organisation } from '../members/members.repository';
import { ensureOrganisationForWorkspace } from '../members/organisations.usecases';
import * as teamsRepo from './teams.repository';
import type { TeamsConversationType } from './teams.tables';

// Verbs of the Teams adapter that touch the database: which organisation a tenant is, who a Teams
// user is, and where the bot may write later. No botbuilder calls here: a Teams profile is fetched by
// a function the caller passes, so these run the same under CloudAdapter or a later Agents SDK.

/** What TeamsInfo.getMember answers, reduced to what Allot reads. */
export interface TeamsAccount {
  /** 29: id, unique per bot app. */
  id: string;
  name?: string;
  aadObjectId?: string;
  email?: string;
  userPrincipalName?: string;
  /** "user", "guest" or "anonymous" in Teams; absent elsewhere. */
  userRole?: string;
}

/** The tenant an activity comes from; local tools (Playground, Emulator) may send none. */
export function tenantOfActivity(activity: Partial<Activity>): string {
  const channelData = activity.channelData as { tenant?: { id?: unknown } } | undefined;
  const fromChannelData = typeof channelData?.tenant?.id === 'string' ? channelData.tenant.id : undefined;
  return (fromChannelData || activity.conversation?.tenantId || 'local').slice(0, 200);
}

export function conversationTypeOf(activity: Partial<Activity>): TeamsConversationType {
  const type = activity.conversation?.conversationType;
  if (type === 'channel' || type === 'groupChat') return type;
  if (type === 'personal') return 'personal';
  return activity.conversation?.isGroup ? 'groupChat' : 'personal';
}

function teamOf(activity: Partial<Activity>): { id?: string; name?: string } {
  const team = (activity.channelData as { team?: { id?: unknown; name?: unknown } } | undefined)?.team;
  return {
    id: typeof team?.id === 'string' ? team.id : undefined,
    name: typeof team?.name === 'string' ? team.name : undefined,
  };
}

export async function organisationForActivity(ctx: Ctx, activity: Partial<Activity>): Promise<Organisation> {
  const tenantId = tenantOfActivity(activity);
  return ensureOrganisationForWorkspace(ctx, { platform: 'teams', externalId: tenantId, name: `Teams ${tenantId}` });
}

/**
 * Saves where the bot can write to this conversation later. In a personal chat the person is the
 * sender (or, on install, the member added); the reference keeps the bot account and service URL.
 */
/**
 * A channel message's conversation id names its thread (`19:…@thread.tacv2;messageid=…`); proactive
 * posts (the digest) go to the channel itself, so channel references are stored under the root id.
 */
export function rootConversationId(conversationId: string): string {
  return conversationId.split(';messageid=')[0]!;
}

export async function rememberConversation(
  ctx: Ctx,
  input: { orgId: bigint; activity: Partial<Activity>; reference: Partial<ConversationReference> },
): Promise<void> {
  const { activity, reference } = input;
  if (!activity.conversation?.id || !activity.serviceUrl) return;
  const conversationType = conversationTypeOf(activity);
  const conversationId =
    conversationType === 'channel' ? rootConversationId(activity.conversation.id) : activity.conversation.id;
  const stored =
    conversationType === 'channel' && reference.conversation
      ? { ...reference, conversation: { ...reference.conversation, id: conversationId } }
      : reference;
  const personAadObjectId =
    conversationType === 'personal'
      ? (activity.from?.aadObjectId ??
        activity.membersAdded?.find((member) => member.id !== activity.recipient?.id)?.aadObjectId ??
        null)
      : null;
  await teamsRepo.upsertConversation(ctx.db.orm, {
    orgId: input.orgId,
    conversationId,
    conversationType,
    tenantId: tenantOfActivity(activity),
    reference: JSON.parse(JSON.stringify(stored)) as Record<string, unknown>,
    serviceUrl: activity.serviceUrl,
    memberAadObjectId: personAadObjectId,
    teamId: teamOf(activity).id ?? null,
    at: ctx.clock.now(),
  });
}

export async function forgetConversation(
  ctx: Ctx,
  input: { orgId: bigint; conversationId: string; reason: string },
): Promise<void> {
  await teamsRepo.markUnreachable(ctx.db.orm, {
    ...input,
    conversationId: rootConversationId(input.conversationId),
    at: ctx.clock.now(),
  });
}

/** The key of an activity: activity ids are unique within a conversation only. */
export function idempotencyKeyOfActivity(activity: Partial<Activity>): string | undefined {
  if (!activity.id || !activity.conversation?.id) return undefined;
  const digest = createHash('sha256').update(`${activity.conversation.id}\n${activity.id}`).digest('hex');
  return `teams:${digest.slice(0, 48)}`;
}

/** A guest's UPN (`name_home.com#EXT#@tenant.onmicrosoft.com`) is not their email; a member's usually is. */
export function emailOfAccount(account: TeamsAccount): string | null {
  if (account.email?.includes('@')) return account.email.trim().toLowerCase();
  const upn = account.userPrincipalName?.trim().toLowerCase();
  if (upn?.includes('@') && !upn.includes('#ext#')) return upn;
  return null;
}

/** Bot accounts in Teams have 28: ids. */
export function isBotAccountId(id: string): boolean {
  return id.startsWith('28:');
}

/** A Teams user seen in this turn, under the reference the adapter handed the core. */
export interface SeenTeamsUser {
  ref: ChatUserRef;
  /** 29: id (28: for bots), unique per bot app; kept in the identity's details for proactive sends. */
  userId: string;
  /** The name the activity or mention gave. */
  name?: string;
  /** TeamsInfo.getMember's answer when it was already asked for this person. */
  account?: TeamsAccount;
  /** Asks TeamsInfo.getMember; undefined when Teams does not know the person here. */
  loadAccount(): Promise<TeamsAccount | undefined>;
}

/**
 * Who a Teams user is for Allot: tenant + Entra object id (the stable key; PLATFORMS.md §27). The
 * activity or mention may carry the Entra id; else a known identity's details map the 29: id to it;
 * else TeamsInfo.getMember (`loadAccount`) is asked, and its answer is returned for the profile. Bots
 * (28:) and local tools without an Entra id keep their 29:/28: id. Creates nothing: the chat core
 * resolves the member from this reference (src/chat/commands.usecases.ts, ensureMember).
 */
export async function teamsUserOf(
  ctx: Ctx,
  input: {
    orgId: bigint;
    tenantId: string;
    /** 29: id of the user in this bot's conversations. */
    userId: string;
    aadObjectId: string | undefined;
    name: string | undefined;
    loadAccount: () => Promise<TeamsAccount | undefined>;
  },
): Promise<SeenTeamsUser> {
  let account: TeamsAccount | undefined;
  let aadObjectId = input.aadObjectId;
  const isBot = isBotAccountId(input.userId);
  if (!aadObjectId && !isBot)
    aadObjectId = await teamsRepo.findAadObjectIdByUserId(ctx.db.orm, input.orgId, input.userId);
  if (!aadObjectId && !isBot) {
    account = await input.loadAccount();
    aadObjectId = account?.aadObjectId;
  }
  return {
    ref: {
      platform: 'teams',
      externalId: aadObjectId ?? input.userId,
      workspaceId: input.tenantId,
      displayName: input.name,
    },
    userId: input.userId,
    name: input.name,
    account,
    loadAccount: input.loadAccount,
  };
}
