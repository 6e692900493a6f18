import type { IdentityPlatform, Member, Organisation } from '../members/members.repository';
import * as membersRepo from '../members/members.repository';
import { ensureMemberForIdentity } from '../members/members.usecases';
import { ensureOrganisationForWorkspace } from '../members/organisations.usecases';
import { isActiveAdmin, matchesConfiguredAdmin } from '../members/roles.models';
import type { ChatMessage } from '../notify/message.models';
import type { ChatDeps, ChatDirectory, ChatOutcome, ChatProfile, RunCommandInput } from './chat.models';
import { recordInboundDelivery } from './chat.repository';
import type { CommandRun } from './commands/command.models';
import { dispatchCommand } from './commands/commands.table';
import { openDashboardAction } from './dashboard.replies';
import { isNextExpiryBlock } from './expiry.replies';
import { normaliseCommandName, type ParsedCommand, parseCommand } from './grammar.models';
import { refusal } from './outcomes.usecases';
import { grammarReply } from './replies.models';
import { buildHome } from './summary.usecases';
import { usageBlocks } from './usage.bridge';
import type { ChatUserRef } from './words.models';

// The one entry point of the chat core. An adapter (Slack, Teams) resolves the workspace and the
// person acting, tokenises the command text, and calls runCommand or runAction; it gets back a reply
// for the person acting (shown only to them) and presents it. Notifications to other people
// (grant notices, approval requests, decisions) are sent through deps.notifier, so every platform
// behaves alike, and problems delivering them are added to the reply. Each command has its own file
// under commands/ (the table in commands/commands.table.ts); clicks are in actions.usecases.ts.

// ---------------------------------------------------------------------------------------------
// who is acting

export type ResolvedChatMember =
  | { ok: true; org: Organisation; member: Member }
  | { ok: false; failure: 'unknown_person' };

/**
 * A workspace belongs to one organisation for good, so the mapping is kept in memory for a minute
 * (bounded), saving a query on every command. Keyed with the database so tests with several stay apart.
 */
const organisationCache = new Map<string, { org: Organisation; db: unknown; until: number }>();
const organisationCacheMax = 10_000;
const organisationCacheMs = 60_000;

/** The organisation of a workspace and the member behind a platform user, created on first sight. */
export async function resolveChatMember(
  deps: ChatDeps,
  input: {
    workspace: { platform: IdentityPlatform; externalId: string; name?: string };
    user: ChatUserRef;
    directory: ChatDirectory;
  },
): Promise<{ org: Organisation; member: Member }> {
  const cacheKey = `${input.workspace.platform}:${input.workspace.externalId}`;
  const cached = organisationCache.get(cacheKey);
  const now = Date.now();
  let org: Organisation;
  if (cached && cached.until > now && cached.db === deps.ctx.db) {
    org = cached.org;
  } else {
    org = await ensureOrganisationForWorkspace(deps.ctx, {
      platform: input.workspace.platform,
      externalId: input.workspace.externalId,
      name: input.workspace.name ?? input.workspace.externalId,
    });
    if (organisationCache.size >= organisationCacheMax) organisationCache.clear();
    organisationCache.set(cacheKey, { org, db: deps.ctx.db, until: now + organisationCacheMs });
  }
  const member = await ensureMember(deps, org.id, input.user, input.directory, true);
  return { org, member: member! };
}

function isConfiguredAdmin(deps: ChatDeps, user: ChatUserRef, email: string | null | undefined): boolean {
  return matchesConfiguredAdmin(deps.config.ALLOT_ADMINS, {
    platform: user.platform,
    externalId: user.externalId,
    email,
  });
}

async function ensureMember(
  deps: ChatDeps,
  orgId: bigint,
  user: ChatUserRef,
  directory: ChatDirectory,
  isActor: boolean,
): Promise<Member | undefined> {
  const known = await membersRepo.findMemberByIdentity(deps.ctx.db.orm, orgId, user.platform, user.externalId);
  let member = known;
  if (!member) {
    let profile: ChatProfile | null;
    try {
      profile = await directory.loadProfile(user);
    } catch (error) {
      deps.logger.warn({ err: error, user: user.externalId }, 'could not load a chat profile');
      profile = null;
    }
    // The person acting is real (the platform sent their request); a mention we cannot look up is not.
    if (!profile && !isActor) return undefined;
    const loaded: ChatProfile = profile ?? { displayName: user.displayName ?? user.externalId };
    member = await ensureMemberForIdentity(deps.ctx, {
      orgId,
      platform: user.platform,
      externalId: user.externalId,
      workspaceId: user.workspaceId,
      details: loaded.identityDetails,
      loadProfile: async () => ({
        ...loaded,
        isPlatformAdmin: Boolean(loaded.isPlatformAdmin) || isConfiguredAdmin(deps, user, loaded.email),
      }),
    });
  }
  if (member.role !== 'admin' && member.isActive && isConfiguredAdmin(deps, user, member.email)) {
    member = (await membersRepo.updateMember(deps.ctx.db.orm, orgId, member.id, { role: 'admin' })) ?? member;
  }
  return member;
}

// ---------------------------------------------------------------------------------------------
// commands

/** Parses and runs one command typed by a member; never throws (a bug is logged and answered as internal_error). */
export async function runCommand(deps: ChatDeps, input: RunCommandInput): Promise<ChatOutcome> {
  const name = normaliseCommandName(input.command);
  if (!name) {
    return {
      ok: false,
      failure: 'grammar',
      deliveries: [],
      reply: grammarReply(`I don't know “${input.command.slice(0, 40)}”.`, '/tokens help'),
    };
  }
  const parsed = parseCommand(name, input.tokens);
  if (!parsed.ok) {
    return {
      ok: false,
      failure: 'grammar',
      deliveries: [],
      reply: grammarReply(parsed.refusal.problem, parsed.refusal.usage),
    };
  }
  try {
    const outcome = await execute(deps, input, parsed.command);
    deps.metrics?.chatCommands.inc({
      platform: input.platform,
      command: name,
      outcome: outcome.confirmation ? 'confirmation_asked' : outcome.ok ? 'ok' : outcome.failure,
    });
    return outcome;
  } catch (error) {
    deps.logger.error({ err: error, command: name, key: input.idempotencyKey }, 'chat command failed');
    deps.metrics?.chatCommands.inc({ platform: input.platform, command: name, outcome: 'internal_error' });
    return refusal('internal_error');
  }
}

/** Runs a parsed command through its handler (commands/commands.table.ts). */
async function execute(deps: ChatDeps, input: RunCommandInput, command: ParsedCommand): Promise<ChatOutcome> {
  const orgId = input.org.id;
  const run: CommandRun = {
    deps,
    input,
    orgId,
    actor: { kind: 'member', memberId: input.actor.id, platform: input.platform },
    isAdmin: isActiveAdmin(input.actor),
    resolve: (user) => ensureMember(deps, orgId, user, input.directory, false),
  };
  return dispatchCommand(run, command);
}

// ---------------------------------------------------------------------------------------------
// home and delivery

/**
 * The Home view of a member (Slack App Home; any platform that has a personal dashboard). With
 * DASHBOARD_URL set it starts with an "Open dashboard" button, which answers with a fresh sign-in link.
 */
export async function homeFor(deps: ChatDeps, input: { orgId: bigint; memberId: bigint }): Promise<ChatMessage> {
  const built = await buildHome(deps.ctx, input);
  const home: ChatMessage = deps.config.DASHBOARD_URL
    ? { summary: built.summary, blocks: [{ type: 'actions', actions: [openDashboardAction] }, ...built.blocks] }
    : built;
  // This month's usage by model goes right under the balance, as in /balance.
  const fields = home.blocks.findIndex((block) => block.type === 'fields');
  if (fields < 0) return home;
  // After the balance fields and the next expiry line under them.
  const at = fields + 1 + (isNextExpiryBlock(home.blocks[fields + 1]) ? 1 : 0);
  const usage = await usageBlocks(deps.ctx, input);
  return { summary: home.summary, blocks: [...home.blocks.slice(0, at), ...usage, ...home.blocks.slice(at)] };
}

/**
 * True the first time a delivery with this source key (a Slack event id, a Teams activity id) is seen
 * for the organisation; false for a redelivery, which must then have no effect.
 */
export async function firstDelivery(deps: ChatDeps, orgId: bigint, idempotencyKey: string): Promise<boolean> {
  return recordInboundDelivery(deps.ctx.db.orm, orgId, idempotencyKey);
}
