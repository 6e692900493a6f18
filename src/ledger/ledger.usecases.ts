import type { Orm } from '../db/client';
import type { Actor, Ctx } from '../lib/context';
import { actorMemberId } from '../lib/context';
import { withRetries } from '../lib/db-errors';
import type { ExpiryInput } from '../lib/expiry.models';
import { type Failure, fail, ok, type Result } from '../lib/result';
import type { Member } from '../members/members.repository';
import * as membersRepo from '../members/members.repository';
import { grantSource, isActiveAdmin, mayHoldBudget } from '../members/roles.models';
import { findInvariantViolations } from './audit.repository';
import { type ExpiryFailure, expiryBody, type ResolvedExpiry, resolveExpiry } from './expiry-terms.usecases';
import { cleanMemo, grantRecipientsMax, hashOperation, idempotencyKeyLengthMax, isValidAmount } from './ledger.models';
import type { Account, PostInput, PostOutcome } from './ledger.repository';
import * as ledgerRepo from './ledger.repository';

/** A posted operation: its transfers, and whether this call only replayed an earlier identical one. */
export interface Posted {
  transferIds: bigint[];
  replayed: boolean;
  createdAt: Date;
}

/**
 * Posts an operation with retries on serialization failures, deadlocks and a concurrent twin (which
 * then reads back as `exists`). Runs on `orm`, which may be an open transaction.
 */
export async function post(orm: Orm, input: PostInput, inTransaction = false): Promise<PostOutcome> {
  if (input.idempotencyKey.length === 0 || input.idempotencyKey.length > idempotencyKeyLengthMax) {
    throw new Error(`operation key must be 1 to ${idempotencyKeyLengthMax} characters`);
  }
  for (const leg of input.legs) {
    if (!isValidAmount(leg.amount)) throw new Error(`amount ${leg.amount} out of range`);
  }
  // Inside a caller's transaction an error aborts the transaction; the caller retries the whole of it.
  return inTransaction ? ledgerRepo.postOperation(orm, input) : withRetries(() => ledgerRepo.postOperation(orm, input));
}

/** A posted operation from allot_post's outcome (ok, or exists: a replay). */
export function posted(outcome: PostOutcome): Posted {
  return { transferIds: outcome.transferIds, replayed: outcome.status === 'exists', createdAt: outcome.createdAt! };
}

/** The account of a kind (and member); a missing one is a bug (every organisation and member has theirs). */
export async function requireAccount(
  orm: Orm,
  orgId: bigint,
  kind: Account['kind'],
  memberId: bigint | null,
): Promise<Account> {
  const account = await ledgerRepo.findAccount(orm, orgId, kind, memberId);
  if (!account) throw new Error(`organisation ${orgId} has no ${kind} account for ${memberId ?? 'itself'}`);
  return account;
}

/** The member behind an actor, when the actor is a member. */
export async function loadActorMember(ctx: Ctx, orgId: bigint, actor: Actor): Promise<Member | undefined> {
  return actor.kind === 'member' ? membersRepo.findMember(ctx.db.orm, orgId, actor.memberId) : undefined;
}

// ---------------------------------------------------------------------------------------------
// issue: treasury → a manager's budget

export type IssueFailure =
  | 'amount_invalid'
  | 'not_an_admin'
  | 'member_not_found'
  | 'not_a_manager'
  | ExpiryFailure
  | 'idempotency_conflict';

/**
 * Issues `amount` from the treasury into a manager's budget. `expiry` (as typed; default: the
 * organisation's) says when the budget lot expires, in the manager's zone.
 */
export async function issueBudget(
  ctx: Ctx,
  input: {
    orgId: bigint;
    actor: Actor;
    managerId: bigint;
    amount: bigint;
    memo?: string;
    idempotencyKey: string;
    expiry?: ExpiryInput;
  },
): Promise<Result<Posted & { budgetBalance: bigint; expiry: ResolvedExpiry }, IssueFailure>> {
  if (!isValidAmount(input.amount)) return fail('amount_invalid');
  const actorMember = await loadActorMember(ctx, input.orgId, input.actor);
  if (input.actor.kind !== 'operator' && !isActiveAdmin(actorMember)) return fail('not_an_admin');
  const manager = await membersRepo.findMember(ctx.db.orm, input.orgId, input.managerId);
  if (!manager) return fail('member_not_found');
  if (!mayHoldBudget(manager)) return fail('not_a_manager');
  const treasury = await requireAccount(ctx.db.orm, input.orgId, 'treasury', null);
  const budget = await requireAccount(ctx.db.orm, input.orgId, 'budget', manager.id);
  const expiry = await resolveExpiry(ctx.db.orm, ctx.clock, {
    orgId: input.orgId,
    memberIds: [manager.id],
    expiry: input.expiry,
  });
  if (!expiry.ok) return expiry;
  const memo = cleanMemo(input.memo);
  const body = { code: 'issue', to: manager.id, amount: input.amount, memo, ...expiryBody(expiry.value) };
  const outcome = await post(ctx.db.orm, {
    orgId: input.orgId,
    idempotencyKey: input.idempotencyKey,
    requestHash: hashOperation(body),
    code: 'issue',
    legs: [{ debitAccountId: treasury.id, creditAccountId: budget.id, amount: input.amount }],
    actorMemberId: actorMemberId(input.actor),
    platform: input.actor.platform,
    memo,
    reversesTransferId: null,
    lotExpiresAt: expiry.value.lots.map((lot) => lot.at),
  });
  if (outcome.status === 'conflict') return fail('idempotency_conflict');
  if (outcome.status !== 'ok' && outcome.status !== 'exists') throw new Error(`issue: unexpected ${outcome.status}`);
  const after = await requireAccount(ctx.db.orm, input.orgId, 'budget', manager.id);
  return ok({ ...posted(outcome), budgetBalance: after.balance, expiry: expiry.value });
}

// ---------------------------------------------------------------------------------------------
// grant: a manager's budget (or, for admins, the treasury) → each recipient's wallet, all or nothing

export type GrantFailure =
  | 'amount_invalid'
  | 'no_recipients'
  | 'too_many_recipients'
  | 'self_grant'
  | 'not_a_manager'
  | 'recipient_not_found'
  | 'recipient_is_bot'
  | 'recipient_inactive'
  | ExpiryFailure
  | 'exceeds_budget'
  | 'idempotency_conflict';

export interface Granted extends Posted {
  recipients: { memberId: bigint; transferId: bigint }[];
  amountEach: bigint;
  total: bigint;
  fundedFrom: 'budget' | 'treasury';
  /** What is left in the granter's budget; null when granted from the treasury. */
  budgetBalance: bigint | null;
  /** When each recipient's lot expires. */
  expiry: ResolvedExpiry;
}

/** Why one of the people named cannot receive a grant (the first, in the order named); undefined when all can. */
async function refuseRecipients(
  ctx: Ctx,
  orgId: bigint,
  recipientIds: bigint[],
): Promise<Failure<'recipient_not_found' | 'recipient_is_bot' | 'recipient_inactive'> | undefined> {
  const recipients = await membersRepo.findMembers(ctx.db.orm, orgId, recipientIds);
  const byId = new Map(recipients.map((member) => [member.id, member]));
  for (const id of recipientIds) {
    const member = byId.get(id);
    if (!member) return fail('recipient_not_found', { memberId: id });
    if (member.isBot) return fail('recipient_is_bot', { memberId: id, name: member.displayName });
    if (!member.isActive) return fail('recipient_inactive', { memberId: id, name: member.displayName });
  }
  return undefined;
}

/**
 * Grants `amount` to each recipient, all or nothing. `expiry` (as typed; default: the organisation's)
 * says when each recipient's lot expires, in that recipient's zone.
 */
export async function grantTokens(
  ctx: Ctx,
  input: {
    orgId: bigint;
    actor: Actor;
    recipientIds: bigint[];
    amount: bigint;
    memo?: string;
    idempotencyKey: string;
    expiry?: ExpiryInput;
  },
): Promise<Result<Granted, GrantFailure>> {
  if (!isValidAmount(input.amount)) return fail('amount_invalid');
  const recipientIds = [...new Set(input.recipientIds)];
  if (recipientIds.length === 0) return fail('no_recipients');
  if (recipientIds.length > grantRecipientsMax) return fail('too_many_recipients', { max: grantRecipientsMax });
  if (input.actor.kind === 'member' && recipientIds.includes(input.actor.memberId)) return fail('self_grant');
  const actorMember = await loadActorMember(ctx, input.orgId, input.actor);
  const fundedFrom = grantSource(
    input.actor.kind === 'operator' ? { kind: 'operator' } : { kind: 'member', member: actorMember },
  );
  if (fundedFrom === null) return fail('not_a_manager');
  const fromTreasury = fundedFrom === 'treasury';
  const refused = await refuseRecipients(ctx, input.orgId, recipientIds);
  if (refused) return refused;
  const total = input.amount * BigInt(recipientIds.length);
  const source = fromTreasury
    ? await requireAccount(ctx.db.orm, input.orgId, 'treasury', null)
    : await requireAccount(ctx.db.orm, input.orgId, 'budget', actorMember!.id);
  const walletByMember = new Map(
    (await ledgerRepo.findMemberAccounts(ctx.db.orm, input.orgId, recipientIds))
      .filter((account) => account.kind === 'wallet')
      .map((account) => [account.memberId!, account]),
  );
  const expiry = await resolveExpiry(ctx.db.orm, ctx.clock, {
    orgId: input.orgId,
    memberIds: recipientIds,
    expiry: input.expiry,
  });
  if (!expiry.ok) return expiry;
  const memo = cleanMemo(input.memo);
  const body = { code: 'grant', from: source.id, to: recipientIds, amount: input.amount, memo };
  const outcome = await post(ctx.db.orm, {
    orgId: input.orgId,
    idempotencyKey: input.idempotencyKey,
    requestHash: hashOperation({ ...body, ...expiryBody(expiry.value) }),
    code: 'grant',
    legs: recipientIds.map((id) => {
      const wallet = walletByMember.get(id);
      if (!wallet) throw new Error(`member ${id} has no wallet`);
      return { debitAccountId: source.id, creditAccountId: wallet.id, amount: input.amount };
    }),
    actorMemberId: actorMemberId(input.actor),
    platform: input.actor.platform,
    memo,
    reversesTransferId: null,
    lotExpiresAt: expiry.value.lots.map((lot) => lot.at),
  });
  if (outcome.status === 'conflict') return fail('idempotency_conflict');
  if (outcome.status === 'exceeds_balance') {
    return fail('exceeds_budget', {
      budget: (await ledgerRepo.findAccountsByIds(ctx.db.orm, input.orgId, [source.id]))[0]?.balance,
      total,
    });
  }
  if (outcome.status !== 'ok' && outcome.status !== 'exists') throw new Error(`grant: unexpected ${outcome.status}`);
  const budgetBalance = fromTreasury
    ? null
    : (await ledgerRepo.findAccountsByIds(ctx.db.orm, input.orgId, [source.id]))[0]!.balance;
  return ok({
    ...posted(outcome),
    recipients: recipientIds.map((memberId, index) => ({ memberId, transferId: outcome.transferIds[index]! })),
    amountEach: input.amount,
    total,
    fundedFrom,
    budgetBalance,
    expiry: expiry.value,
  });
}

// ---------------------------------------------------------------------------------------------
// top-up: an approver's budget (or the treasury) → the requester's wallet; runs inside the approval's transaction

export type TopUpFailure = 'exceeds_budget' | 'idempotency_conflict';

export async function topUp(
  orm: Orm,
  input: {
    orgId: bigint;
    actor: Actor;
    /** The manager whose budget pays; null pays from the treasury (an admin's approval). */
    fromMemberId: bigint | null;
    toMemberId: bigint;
    amount: bigint;
    memo?: string;
    idempotencyKey: string;
    /** When the requester's lot expires, resolved by the approval (resolveExpiry); absent: never. */
    expiry?: ResolvedExpiry;
  },
  inTransaction = true,
): Promise<Result<Posted, TopUpFailure>> {
  const source =
    input.fromMemberId === null
      ? await requireAccount(orm, input.orgId, 'treasury', null)
      : await requireAccount(orm, input.orgId, 'budget', input.fromMemberId);
  const wallet = await requireAccount(orm, input.orgId, 'wallet', input.toMemberId);
  const memo = cleanMemo(input.memo);
  const body = {
    code: 'topup',
    from: source.id,
    to: wallet.id,
    amount: input.amount,
    memo,
    ...(input.expiry ? expiryBody(input.expiry) : {}),
  };
  const outcome = await post(
    orm,
    {
      orgId: input.orgId,
      idempotencyKey: input.idempotencyKey,
      requestHash: hashOperation(body),
      code: 'topup',
      legs: [{ debitAccountId: source.id, creditAccountId: wallet.id, amount: input.amount }],
      actorMemberId: actorMemberId(input.actor),
      platform: input.actor.platform,
      memo,
      reversesTransferId: null,
      lotExpiresAt: input.expiry?.lots.map((lot) => lot.at),
    },
    inTransaction,
  );
  if (outcome.status === 'conflict') return fail('idempotency_conflict');
  if (outcome.status === 'exceeds_balance') return fail('exceeds_budget');
  if (outcome.status !== 'ok' && outcome.status !== 'exists') throw new Error(`topup: unexpected ${outcome.status}`);
  return ok(posted(outcome));
}

// ---------------------------------------------------------------------------------------------
// usage: a member's wallet → usage (may overdraw the wallet: the usage already happened)

export type UsageDebitFailure = 'idempotency_conflict';

export async function debitUsage(
  orm: Orm,
  input: {
    orgId: bigint;
    memberId: bigint;
    amount: bigint;
    idempotencyKey: string;
    memo?: string;
    body: Record<string, unknown>;
    platform?: string;
  },
  inTransaction = false,
): Promise<Result<Posted, UsageDebitFailure>> {
  const wallet = await requireAccount(orm, input.orgId, 'wallet', input.memberId);
  const usage = await ledgerRepo.findUsageAccountFor(orm, input.orgId, wallet.id);
  if (!usage) throw new Error(`organisation ${input.orgId} has no usage account`);
  const outcome = await post(
    orm,
    {
      orgId: input.orgId,
      idempotencyKey: input.idempotencyKey,
      requestHash: hashOperation({ code: 'usage', ...input.body }),
      code: 'usage',
      legs: [{ debitAccountId: wallet.id, creditAccountId: usage.id, amount: input.amount }],
      actorMemberId: input.memberId,
      platform: input.platform ?? 'api',
      memo: cleanMemo(input.memo),
      reversesTransferId: null,
    },
    inTransaction,
  );
  if (outcome.status === 'conflict') return fail('idempotency_conflict');
  if (outcome.status !== 'ok' && outcome.status !== 'exists') throw new Error(`usage: unexpected ${outcome.status}`);
  return ok(posted(outcome));
}

// ---------------------------------------------------------------------------------------------
// reads

export interface Balances {
  wallet: bigint;
  /** Tokens of the wallet held by open reservations (calls in flight); available is `wallet - held`. */
  held: bigint;
  budget: bigint;
  walletAccountId: bigint;
  budgetAccountId: bigint;
}

export async function getBalances(orm: Orm, orgId: bigint, memberId: bigint): Promise<Balances | undefined> {
  const rows = await ledgerRepo.findMemberAccounts(orm, orgId, [memberId]);
  const wallet = rows.find((row) => row.kind === 'wallet');
  const budget = rows.find((row) => row.kind === 'budget');
  if (!wallet || !budget) return undefined;
  return {
    wallet: wallet.balance,
    held: wallet.held,
    budget: budget.balance,
    walletAccountId: wallet.id,
    budgetAccountId: budget.id,
  };
}

export async function auditLedger(ctx: Ctx, input: { orgId?: bigint } = {}) {
  return findInvariantViolations(ctx.db.orm, input.orgId);
}
