import { createHash } from 'node:crypto';
import type { Activity, ConversationReference } from 'botbuilder';
import type { Ctx } from '../lib/context';
import type { Member, Organisation } from '../members/members.repository';
import { ensureMemberForIdentity, ensureOrganisationForWorkspace } from '../members/members.usecases';
import { matchesConfiguredAdmin } from '../members/roles.models';
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
export function activityKeyOf(activity: Partial<Activity>): string | undefined {
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

/**
 * The member behind a Teams user. Tenant + Entra object id is the key; the first time a person is
 * seen, `loadAccount` (TeamsInfo.getMember) supplies their email and name, so a person already known
 * from Slack with the same email keeps one member and one wallet.
 */
export async function memberForTeamsUser(
  ctx: Ctx,
  input: {
    orgId: bigint;
    tenantId: string;
    /** 29: id of the user in this bot's conversations. */
    userId: string;
    aadObjectId: string | undefined;
    name: string | undefined;
    admins: readonly string[];
    loadAccount: () => Promise<TeamsAccount | undefined>;
  },
): Promise<Member> {
  let loaded: TeamsAccount | undefined;
  let aadObjectId = input.aadObjectId;
  if (!aadObjectId && !isBotAccountId(input.userId)) {
    aadObjectId = await teamsRepo.findAadObjectIdByUserId(ctx.db.orm, input.orgId, input.userId);
  }
  if (!aadObjectId && !isBotAccountId(input.userId)) {
    loaded = await input.loadAccount();
    aadObjectId = loaded?.aadObjectId;
  }
  // Without an Entra object id (a local tool, or a bot) the 29:/28: id is the best key there is.
  const externalId = aadObjectId ?? input.userId;
  return ensureMemberForIdentity(ctx, {
    orgId: input.orgId,
    platform: 'teams',
    externalId,
    workspaceId: input.tenantId,
    details: { userId: input.userId },
    loadProfile: async () => {
      const isBot = isBotAccountId(input.userId);
      const account = loaded ?? (isBot ? undefined : await input.loadAccount());
      const email = account ? emailOfAccount(account) : null;
      return {
        displayName: account?.name?.trim() || input.name?.trim() || externalId,
        email,
        isBot,
        // Entra object ids are GUIDs, which Teams and admins may write in either case.
        isPlatformAdmin: matchesConfiguredAdmin(
          input.admins.map((admin) => admin.toLowerCase()),
          { platform: 'teams', externalId: externalId.toLowerCase(), email },
        ),
      };
    },
  });
}
