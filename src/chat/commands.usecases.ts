import type { TopupRequest } from '../approvals/approvals.repository';
import * as approvalsRepo from '../approvals/approvals.repository';
import {
  approversOf,
  cancelRequest,
  decideRequest,
  expireRequests,
  requestTopUp,
} from '../approvals/approvals.usecases';
import type { Config } from '../config/config';
import type { Metrics } from '../http/metrics';
import { cleanMemo, needsConfirmation, unconfirmedTokensMax } from '../ledger/ledger.models';
import { getBalances, grantTokens, issueBudget } from '../ledger/ledger.usecases';
import type { Ctx } from '../lib/context';
import type { Logger } from '../lib/logger';
import type { IdentityPlatform, Member, Organisation } from '../members/members.repository';
import * as membersRepo from '../members/members.repository';
import {
  ensureMemberForIdentity,
  ensureOrganisationForWorkspace,
  type PlatformProfile,
  setManager,
  setRole,
} from '../members/members.usecases';
import {
  grantSource,
  isActiveAdmin,
  isActiveManager,
  matchesConfiguredAdmin,
  maySeeBalance,
} from '../members/roles.models';
import type { Block, ChatMessage } from '../notify/message.models';
import type { Notifier, SendOutcome } from '../notify/notifier';
import { hasInboundDelivery, recordInboundDelivery } from './chat.repository';
import {
  decodePendingOperation,
  encodePendingOperation,
  operationDecisionKeys,
  type PendingOperation,
} from './confirmations.models';
import {
  type ChatUserRef,
  type CommandToken,
  type LeaderboardWindow,
  normaliseCommandName,
  type ParsedCommand,
  parseCommand,
} from './grammar.models';
import {
  actionIds,
  approvalCard,
  budgetIssued,
  budgetNotice,
  type ChatFailure,
  cancelConfirmation,
  decisionConfirmation,
  decisionNotice,
  deliveryProblemLine,
  type FailureContext,
  failureReply,
  grammarReply,
  grantConfirmation,
  grantNotice,
  helpMessage,
  isChatFailure,
  type LargeOperation,
  largeOperationQuestion,
  type MemberRef,
  managerSet,
  operationCancelled,
  requestCreated,
  roleSet,
} from './replies.models';
import { type CommandPlace, nextAllowanceBlocks, runAllowanceCommand, runDigestCommand } from './schedules.bridge';
import { balanceMessage, buildHome, loadMemberSummary, refOf } from './summary.usecases';
import { leaderboardMessage, runUsageTokensCommand, usageBlocks } from './usage.bridge';

// The one entry point of the chat core. An adapter (Slack, Teams) resolves the workspace and the
// person acting, tokenises the command text, and calls runCommand or runAction; it gets back a reply
// for the person acting (shown only to them) and presents it. Notifications to other people
// (grant notices, approval requests, decisions) are sent here through deps.notifier, so every
// platform behaves alike, and problems delivering them are added to the reply.

export interface ChatExtensions {
  /** The value-weighted leaderboard, when the usage module provides one. */
  leaderboard?(input: { orgId: bigint; actor: Member; window: LeaderboardWindow }): Promise<ChatMessage>;
}

export interface ChatDeps {
  ctx: Ctx;
  config: Pick<Config, 'ALLOT_ADMINS' | 'APPROVAL_EXPIRY_HOURS'>;
  notifier: Notifier;
  logger: Logger;
  chatExtensions?: ChatExtensions;
  /** Counts commands by platform, command and outcome for GET /metrics. */
  metrics?: Pick<Metrics, 'chatCommands'>;
}

/** How an adapter looks up a person the core has not met: the platform's profile, or null if unknown there. */
export interface ChatDirectory {
  loadProfile(user: ChatUserRef): Promise<PlatformProfile | null>;
}

export interface DeliveryReport {
  memberId: bigint;
  purpose: 'grant_notice' | 'budget_notice' | 'approval_request' | 'approval_update' | 'decision_notice';
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
    let profile: PlatformProfile | null;
    try {
      profile = await directory.loadProfile(user);
    } catch (error) {
      deps.logger.warn({ err: error, user: user.externalId }, 'could not load a chat profile');
      profile = null;
    }
    // The person acting is real (the platform sent their request); a mention we cannot look up is not.
    if (!profile && !isActor) return undefined;
    const loaded = profile ?? { displayName: user.displayName ?? user.externalId };
    member = await ensureMemberForIdentity(deps.ctx, {
      orgId,
      platform: user.platform,
      externalId: user.externalId,
      workspaceId: user.workspaceId,
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
}

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

function refusal(failure: ChatFailure, detail: FailureContext = {}): ChatOutcome {
  return { ok: false, failure, deliveries: [], reply: failureReply(failure, detail) };
}

async function execute(deps: ChatDeps, input: RunCommandInput, command: ParsedCommand): Promise<ChatOutcome> {
  const { ctx } = deps;
  const orgId = input.org.id;
  const actor = { kind: 'member' as const, memberId: input.actor.id, platform: input.platform };
  const isAdmin = isActiveAdmin(input.actor);
  const resolve = (user: ChatUserRef) => ensureMember(deps, orgId, user, input.directory, false);

  switch (command.name) {
    case 'grant-tokens': {
      const recipients: Member[] = [];
      for (const ref of command.recipients) {
        const found = await resolve(ref);
        if (!found) return refusal('unknown_person');
        recipients.push(found);
      }
      const grant = { recipients, amount: command.amount, reason: command.reason, key: input.idempotencyKey };
      const total = command.amount * BigInt(new Set(recipients.map((r) => r.id)).size);
      if (needsConfirmation(total) && (await couldGrant(deps, orgId, input.actor, total))) {
        return askToConfirm(
          {
            kind: 'grant',
            issuerId: input.actor.id,
            recipientIds: recipients.map((r) => r.id),
            amount: command.amount,
            reason: cleanMemo(command.reason),
            key: input.idempotencyKey,
          },
          {
            kind: 'grant',
            recipients: recipients.map(refOf),
            amountEach: command.amount,
            total,
            reason: cleanMemo(command.reason),
          },
        );
      }
      return postGrant(deps, { platform: input.platform, orgId, actor: input.actor }, grant);
    }

    case 'balance': {
      let target = input.actor;
      if (command.target) {
        const found = await resolve(command.target);
        if (!found) return refusal('unknown_person');
        target = found;
      }
      const own = target.id === input.actor.id;
      // The reporting line is read only when it can matter: a manager looking at someone else.
      const viewerManagesTarget =
        !own &&
        isActiveManager(input.actor) &&
        (await membersRepo.isInReportingLine(ctx.db.orm, orgId, target.id, input.actor.id));
      if (!maySeeBalance({ viewer: input.actor, target, viewerManagesTarget })) return refusal('not_allowed_to_view');
      const summary = await loadMemberSummary(ctx, orgId, target.id);
      if (!summary) return refusal('member_not_found', { person: refOf(target) });
      const usage = await usageBlocks(ctx, { orgId, memberId: target.id });
      const next = await nextAllowanceBlocks(ctx, { orgId, memberId: target.id });
      return { ok: true, reply: balanceMessage(summary, own, [...usage, ...next]), deliveries: [] };
    }

    case 'request-tokens': {
      const requested = await requestTopUp(ctx, {
        orgId,
        actor,
        amount: command.amount,
        reason: command.reason,
        key: input.idempotencyKey,
        expiryMs: deps.config.APPROVAL_EXPIRY_HOURS * 3_600_000,
      });
      if (!requested.ok) return refusal(requested.failure, { max: requested.detail?.max as number | undefined });
      const { request, approvers, created } = requested.value;
      const reply = requestCreated({ request, approvers: approvers.map(refOf), created });
      if (!created) return { ok: true, reply, deliveries: [] };
      const card = approvalCard({ request, requester: refOf(input.actor) });
      const deliveries: DeliveryReport[] = [];
      for (const approver of approvers) {
        const report = await deliver(deps, input.platform, orgId, approver.id, 'approval_request', card);
        if (report.outcome.ok) {
          await approvalsRepo.insertApprovalMessage(ctx.db.orm, {
            orgId,
            requestId: request.id,
            memberId: approver.id,
            platform: report.outcome.location.platform,
            ref: report.outcome.location.ref,
          });
        }
        deliveries.push(report);
      }
      return { ok: true, reply: withDeliveryProblems(reply, deliveries, approvers), deliveries };
    }

    case 'leaderboard': {
      const board = deps.chatExtensions?.leaderboard;
      const reply = board
        ? await board({ orgId, actor: input.actor, window: command.window })
        : await leaderboardMessage(ctx, { orgId, actor: input.actor, window: command.window });
      return { ok: true, reply, deliveries: [] };
    }

    case 'tokens-usage': {
      const done = await runUsageTokensCommand(ctx, {
        orgId,
        actor,
        memberId: input.actor.id,
        sub: command.sub,
        words: command.words,
      });
      return { ok: done.ok, reply: done.reply, deliveries: [] };
    }

    case 'tokens-help':
      return { ok: true, reply: helpMessage(isAdmin), deliveries: [] };

    case 'tokens-digest': {
      const done = await runDigestCommand(ctx, {
        orgId,
        actor,
        isAdmin,
        platform: input.platform,
        place: input.place,
        command,
      });
      return { ok: done.ok, reply: done.reply, deliveries: [] };
    }

    case 'tokens-allowance': {
      const done = await runAllowanceCommand(ctx, { orgId, actor, isAdmin, command, resolve });
      return { ok: done.ok, reply: done.reply, deliveries: [] };
    }

    case 'tokens-role': {
      const target = await resolve(command.target);
      if (!target) return refusal('unknown_person');
      const updated = await setRole(ctx, { orgId, actor, memberId: target.id, role: command.role });
      if (!updated.ok) {
        const budget = updated.detail?.budget as bigint | undefined;
        const suggestion = `allot role ${input.org.slug} ${target.id} ${command.role} --return-budget`;
        return refusal(updated.failure, { person: refOf(target), verb: 'change roles', budget, suggestion });
      }
      return { ok: true, reply: roleSet({ target: refOf(updated.value), role: command.role }), deliveries: [] };
    }

    case 'tokens-manager': {
      const target = await resolve(command.target);
      if (!target) return refusal('unknown_person');
      let manager: Member | undefined;
      if (command.manager) {
        manager = await resolve(command.manager);
        if (!manager) return refusal('unknown_person');
      }
      const updated = await setManager(ctx, { orgId, actor, memberId: target.id, managerId: manager?.id ?? null });
      if (!updated.ok) return refusal(updated.failure, { person: refOf(target), verb: 'set managers' });
      return {
        ok: true,
        reply: managerSet({ target: refOf(target), manager: manager ? refOf(manager) : null }),
        deliveries: [],
      };
    }

    case 'tokens-budget': {
      const target = await resolve(command.target);
      if (!target) return refusal('unknown_person');
      // Asked only when the issue would go through: an admin issuing to a manager.
      if (needsConfirmation(command.amount) && isAdmin && target.role === 'manager') {
        return askToConfirm(
          {
            kind: 'budget',
            issuerId: input.actor.id,
            managerId: target.id,
            amount: command.amount,
            memo: cleanMemo(command.memo),
            key: input.idempotencyKey,
          },
          { kind: 'budget', manager: refOf(target), amount: command.amount, memo: cleanMemo(command.memo) },
        );
      }
      return postBudget(
        deps,
        { platform: input.platform, orgId, actor: input.actor },
        { manager: target, amount: command.amount, memo: command.memo, key: input.idempotencyKey },
      );
    }
  }
}

/** Who posts an operation: the member acting, on a platform, in an organisation. */
interface OperationActor {
  platform: IdentityPlatform;
  orgId: bigint;
  actor: Member;
}

/** Grants `amount` to each recipient (ledger key `key`) and tells each of them; a replay tells nobody again. */
async function postGrant(
  deps: ChatDeps,
  by: OperationActor,
  grant: { recipients: Member[]; amount: bigint; reason: string; key: string },
): Promise<ChatOutcome> {
  const { ctx } = deps;
  const { orgId, platform } = by;
  const { recipients } = grant;
  const granted = await grantTokens(ctx, {
    orgId,
    actor: { kind: 'member', memberId: by.actor.id, platform },
    recipientIds: recipients.map((r) => r.id),
    amount: grant.amount,
    memo: grant.reason,
    key: grant.key,
  });
  if (!granted.ok) {
    const personId = granted.detail?.memberId as bigint | undefined;
    const person = recipients.find((r) => r.id === personId);
    return refusal(granted.failure, {
      person: person ? refOf(person) : undefined,
      budget: granted.detail?.budget as bigint | undefined,
      total: granted.detail?.total as bigint | undefined,
      max: granted.detail?.max as number | undefined,
    });
  }
  const reply = grantConfirmation({
    recipients: recipients.map(refOf),
    amountEach: granted.value.amountEach,
    reason: grant.reason,
    budgetLeft: granted.value.budgetLeft,
  });
  // A redelivered command replays the grant: the recipients were told the first time.
  if (granted.value.replayed) return { ok: true, reply, deliveries: [] };
  const deliveries: DeliveryReport[] = [];
  for (const recipient of recipients) {
    const balance = (await getBalances(ctx.db.orm, orgId, recipient.id))?.wallet ?? 0n;
    const notice = grantNotice({ granter: refOf(by.actor), amount: grant.amount, reason: grant.reason, balance });
    deliveries.push(await deliver(deps, platform, orgId, recipient.id, 'grant_notice', notice));
  }
  return { ok: true, reply: withDeliveryProblems(reply, deliveries, recipients), deliveries };
}

/** Issues `amount` from the treasury into a manager's budget (ledger key `key`) and tells the manager. */
async function postBudget(
  deps: ChatDeps,
  by: OperationActor,
  budget: { manager: Member; amount: bigint; memo: string; key: string },
): Promise<ChatOutcome> {
  const { orgId, platform } = by;
  const target = budget.manager;
  const issued = await issueBudget(deps.ctx, {
    orgId,
    actor: { kind: 'member', memberId: by.actor.id, platform },
    managerId: target.id,
    amount: budget.amount,
    memo: budget.memo,
    key: budget.key,
  });
  if (!issued.ok) {
    // not_a_manager from issueBudget means the target has no manager role.
    if (issued.failure === 'not_a_manager') {
      return {
        ok: false,
        failure: 'not_a_manager',
        deliveries: [],
        reply: grammarReply(
          `${target.displayName} is not a manager, so they have no budget.`,
          '/tokens role @them manager',
        ),
      };
    }
    return refusal(issued.failure, { person: refOf(target), verb: 'add to budgets' });
  }
  const reply = budgetIssued({
    manager: refOf(target),
    amount: budget.amount,
    budget: issued.value.budgetBalance,
    memo: budget.memo,
  });
  if (issued.value.replayed || target.id === by.actor.id) return { ok: true, reply, deliveries: [] };
  const notice = budgetNotice({
    admin: refOf(by.actor),
    amount: budget.amount,
    budget: issued.value.budgetBalance,
    memo: budget.memo,
  });
  const deliveries = [await deliver(deps, platform, orgId, target.id, 'budget_notice', notice)];
  return { ok: true, reply: withDeliveryProblems(reply, deliveries, [target]), deliveries };
}

// ---------------------------------------------------------------------------------------------
// large operations: asked first, posted on the issuer's Confirm click

/**
 * Whether the person could make this grant at all (an admin, or an active manager whose budget covers
 * it). Only then is a confirmation worth asking: otherwise the grant is refused as usual, at once.
 */
async function couldGrant(deps: ChatDeps, orgId: bigint, actor: Member, total: bigint): Promise<boolean> {
  const source = grantSource({ kind: 'member', member: actor });
  if (source !== 'budget') return source === 'treasury';
  const budget = (await getBalances(deps.ctx.db.orm, orgId, actor.id))?.budget ?? 0n;
  return budget >= total;
}

function askToConfirm(operation: PendingOperation, shown: LargeOperation): ChatOutcome {
  const value = encodePendingOperation(operation);
  if (!value) return refusal('operation_too_large_to_confirm');
  return {
    ok: true,
    confirmation: true,
    deliveries: [],
    reply: largeOperationQuestion(shown, value, unconfirmedTokensMax),
  };
}

/**
 * A click on Confirm or Cancel under a large operation's question. Only its issuer may click. The first
 * click of either kind decides, once for all replicas (a row in inbound_deliveries keyed by the
 * command's own idempotency key): Confirm posts with that key, so a double click or a redelivered click
 * replays the same transfers instead of posting again; Cancel posts nothing, and a Confirm after it
 * posts nothing either. `card` is what the question's message should show now.
 */
async function decideOperation(deps: ChatDeps, input: RunActionInput, confirm: boolean): Promise<ChatOutcome> {
  const operation = decodePendingOperation(input.value);
  if (!operation) return refusal('unknown_action');
  if (operation.issuerId !== input.actor.id) return refusal('operation_not_yours');
  const orgId = input.org.id;
  const orm = deps.ctx.db.orm;
  const { decided, cancelled: cancelledMark, confirmed: confirmedMark } = operationDecisionKeys(operation.key);
  const first = await recordInboundDelivery(orm, orgId, decided);
  if (!confirm) {
    if (first || (await hasInboundDelivery(orm, orgId, cancelledMark))) {
      await recordInboundDelivery(orm, orgId, cancelledMark);
      const card = operationCancelled();
      return { ok: true, reply: card, card, deliveries: [] };
    }
    return refusal(
      (await hasInboundDelivery(orm, orgId, confirmedMark)) ? 'operation_already_confirmed' : 'operation_in_progress',
    );
  }
  if (!first) {
    if (await hasInboundDelivery(orm, orgId, cancelledMark)) {
      const outcome = refusal('operation_cancelled');
      return { ...outcome, card: operationCancelled() };
    }
    // Confirmed before: posting again with the same key replays the first result and tells nobody twice.
    if (!(await hasInboundDelivery(orm, orgId, confirmedMark))) return refusal('operation_in_progress');
  }
  const outcome = await postOperation(deps, input, operation);
  if (first) await recordInboundDelivery(orm, orgId, confirmedMark);
  return { ...outcome, card: outcome.reply };
}

async function postOperation(deps: ChatDeps, input: RunActionInput, operation: PendingOperation): Promise<ChatOutcome> {
  const orgId = input.org.id;
  const by = { platform: input.platform, orgId, actor: input.actor };
  if (operation.kind === 'budget') {
    const manager = await membersRepo.findMember(deps.ctx.db.orm, orgId, operation.managerId);
    if (!manager) return refusal('member_not_found');
    return postBudget(deps, by, { manager, amount: operation.amount, memo: operation.memo, key: operation.key });
  }
  const found = await membersRepo.findMembers(deps.ctx.db.orm, orgId, operation.recipientIds);
  const byId = new Map(found.map((member) => [member.id, member]));
  const recipients = operation.recipientIds.map((id) => byId.get(id)).filter((m): m is Member => m !== undefined);
  if (recipients.length !== operation.recipientIds.length) return refusal('recipient_not_found');
  return postGrant(deps, by, { recipients, amount: operation.amount, reason: operation.reason, key: operation.key });
}

// ---------------------------------------------------------------------------------------------
// clicks on approval messages

export interface RunActionInput {
  platform: IdentityPlatform;
  org: Organisation;
  actor: Member;
  /** request.approve | request.deny | request.cancel | operation.confirm | operation.cancel */
  actionId: string;
  /** The request id carried by the button (for an operation: the operation, confirmations.models.ts). */
  value: string;
  /** The reason typed when denying. */
  note?: string;
}

const requestIdPattern = /^[0-9]{1,18}$/;

export async function runAction(deps: ChatDeps, input: RunActionInput): Promise<ChatOutcome> {
  try {
    if (input.actionId === actionIds.confirmOperation || input.actionId === actionIds.cancelOperation) {
      return await decideOperation(deps, input, input.actionId === actionIds.confirmOperation);
    }
    if (!requestIdPattern.test(input.value)) return refusal('unknown_action');
    const requestId = BigInt(input.value);
    switch (input.actionId) {
      case actionIds.approve:
      case actionIds.deny:
        return await decide(deps, input, requestId, input.actionId === actionIds.approve ? 'approve' : 'deny');
      case actionIds.cancel:
        return await cancel(deps, input, requestId);
      default:
        return refusal('unknown_action');
    }
  } catch (error) {
    deps.logger.error({ err: error, action: input.actionId, requestId: input.value }, 'chat action failed');
    return refusal('internal_error');
  }
}

async function nameOf(deps: ChatDeps, orgId: bigint, memberId: bigint | null): Promise<MemberRef | null> {
  if (memberId === null) return null;
  const found = await membersRepo.findMember(deps.ctx.db.orm, orgId, memberId);
  return found ? refOf(found) : { id: memberId, name: 'someone' };
}

async function cardFor(deps: ChatDeps, request: TopupRequest): Promise<ChatMessage> {
  const requester = (await nameOf(deps, request.orgId, request.requesterId))!;
  return approvalCard({ request, requester, decidedBy: await nameOf(deps, request.orgId, request.decidedById) });
}

async function decide(
  deps: ChatDeps,
  input: RunActionInput,
  requestId: bigint,
  decision: 'approve' | 'deny',
): Promise<ChatOutcome> {
  const orgId = input.org.id;
  const decided = await decideRequest(deps.ctx, {
    orgId,
    actor: { memberId: input.actor.id, platform: input.platform },
    requestId,
    decision,
    note: input.note,
  });
  if (!decided.ok) {
    const request = decided.detail?.request as TopupRequest | undefined;
    const outcome = refusal(decided.failure, {
      request,
      decidedBy: request ? await nameOf(deps, orgId, request.decidedById) : null,
      budget: decided.detail?.budget as bigint | undefined,
      total: decided.detail?.amount as bigint | undefined,
    });
    return request ? { ...outcome, card: await cardFor(deps, request) } : outcome;
  }
  const { request } = decided.value;
  const card = await cardFor(deps, request);
  const deliveries = await updateApprovalMessages(deps, request, card);
  const requester = (await nameOf(deps, orgId, request.requesterId))!;
  const balance =
    decision === 'approve' ? (await getBalances(deps.ctx.db.orm, orgId, request.requesterId))?.wallet : undefined;
  const notice = decisionNotice({ request, decidedBy: refOf(input.actor), balance });
  deliveries.push(await deliver(deps, input.platform, orgId, request.requesterId, 'decision_notice', notice));
  const budgetLeft =
    decision === 'approve' && decided.value.fundedFrom === 'budget'
      ? ((await getBalances(deps.ctx.db.orm, orgId, input.actor.id))?.budget ?? null)
      : null;
  const reply = decisionConfirmation({ request, requester, budgetLeft });
  return {
    ok: true,
    reply: withDeliveryProblems(
      reply,
      deliveries.filter((d) => d.purpose === 'decision_notice'),
      [requester],
    ),
    card,
    deliveries,
  };
}

async function cancel(deps: ChatDeps, input: RunActionInput, requestId: bigint): Promise<ChatOutcome> {
  const orgId = input.org.id;
  const cancelled = await cancelRequest(deps.ctx, {
    orgId,
    actor: { memberId: input.actor.id, platform: input.platform },
    requestId,
  });
  if (!cancelled.ok) {
    const request = cancelled.detail?.request as TopupRequest | undefined;
    return refusal(cancelled.failure, {
      request,
      decidedBy: request ? await nameOf(deps, orgId, request.decidedById) : null,
    });
  }
  const card = await cardFor(deps, cancelled.value);
  const deliveries = await updateApprovalMessages(deps, cancelled.value, card);
  return { ok: true, reply: cancelConfirmation(cancelled.value), deliveries };
}

/** Edits every approval message of a request to show its outcome. */
async function updateApprovalMessages(
  deps: ChatDeps,
  request: TopupRequest,
  card: ChatMessage,
): Promise<DeliveryReport[]> {
  const locations = await approvalsRepo.listApprovalMessages(deps.ctx.db.orm, request.orgId, request.id);
  const reports: DeliveryReport[] = [];
  for (const location of locations) {
    let outcome: SendOutcome;
    try {
      outcome = await deps.notifier.update({
        orgId: request.orgId,
        location: { platform: location.platform, ref: location.ref },
        message: card,
      });
    } catch (error) {
      deps.logger.warn({ err: error, requestId: request.id }, 'could not update an approval message');
      outcome = { ok: false, reason: 'failed', detail: String(error) };
    }
    reports.push({ memberId: location.memberId, purpose: 'approval_update', outcome });
  }
  return reports;
}

// ---------------------------------------------------------------------------------------------
// expiry

/** Expires requests whose time is up, edits their approval messages and tells the requesters. */
export async function sweepExpiredRequests(deps: ChatDeps, input: { limit?: number } = {}): Promise<TopupRequest[]> {
  const expired = await expireRequests(deps.ctx, { limit: input.limit });
  for (const request of expired) {
    try {
      await updateApprovalMessages(deps, request, await cardFor(deps, request));
      await deliver(
        deps,
        undefined,
        request.orgId,
        request.requesterId,
        'decision_notice',
        decisionNotice({ request, decidedBy: null }),
      );
    } catch (error) {
      deps.logger.warn({ err: error, requestId: request.id }, 'could not announce an expired request');
    }
  }
  return expired;
}

// ---------------------------------------------------------------------------------------------
// home and delivery

/** The Home view of a member (Slack App Home; any platform that has a personal dashboard). */
export async function homeFor(deps: ChatDeps, input: { orgId: bigint; memberId: bigint }): Promise<ChatMessage> {
  const home = await buildHome(deps.ctx, input);
  // This month's usage by model goes right under the balance, as in /balance.
  const at = home.blocks.findIndex((block) => block.type === 'fields');
  if (at < 0) return home;
  const usage = await usageBlocks(deps.ctx, input);
  return { summary: home.summary, blocks: [...home.blocks.slice(0, at + 1), ...usage, ...home.blocks.slice(at + 1)] };
}

export { approversOf };

async function deliver(
  deps: ChatDeps,
  platform: IdentityPlatform | undefined,
  orgId: bigint,
  memberId: bigint,
  purpose: DeliveryReport['purpose'],
  message: ChatMessage,
): Promise<DeliveryReport> {
  let outcome: SendOutcome;
  try {
    outcome = await deps.notifier.notifyMember({ orgId, memberId, message, preferPlatform: platform });
  } catch (error) {
    // A sender that throws is a bug, but the ledger change stands: report it and carry on.
    deps.logger.error({ err: error, memberId, purpose }, 'a chat sender threw');
    outcome = { ok: false, reason: 'failed', detail: String(error) };
  }
  if (!outcome.ok)
    deps.logger.warn(
      { memberId, purpose, reason: outcome.reason, detail: outcome.detail },
      'direct message not delivered',
    );
  return { memberId, purpose, outcome };
}

function withDeliveryProblems(
  reply: ChatMessage,
  deliveries: DeliveryReport[],
  people: (Member | MemberRef)[],
): ChatMessage {
  const problems: Block[] = [];
  for (const delivery of deliveries) {
    if (delivery.outcome.ok) continue;
    const person = people.find((p) => p.id === delivery.memberId);
    const ref = person ? ('name' in person ? person : refOf(person)) : { id: delivery.memberId, name: 'someone' };
    problems.push(deliveryProblemLine({ person: ref, reason: delivery.outcome.reason }));
  }
  if (problems.length === 0) return reply;
  return { summary: reply.summary, blocks: [...reply.blocks, ...problems].slice(0, 45) };
}

export { isChatFailure };

/**
 * True the first time a delivery with this source key (a Slack event id, a Teams activity id) is seen
 * for the organisation; false for a redelivery, which must then have no effect.
 */
export async function firstDelivery(deps: ChatDeps, orgId: bigint, sourceKey: string): Promise<boolean> {
  return recordInboundDelivery(deps.ctx.db.orm, orgId, sourceKey);
}
