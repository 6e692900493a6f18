import { expireDueLots } from '../ledger/expiry.usecases';
import { hashOperation, isValidAmount } from '../ledger/ledger.models';
import { findAccount } from '../ledger/ledger.repository';
import { transferTokensMax } from '../ledger/ledger.tables';
import { getBalances, post } from '../ledger/ledger.usecases';
import type { Actor, Ctx } from '../lib/context';
import type { ExpiryInput } from '../lib/expiry.models';
import { localDate, nextPeriodStart, periodStart } from '../lib/periods.models';
import { fail, ok, type Result } from '../lib/result';
import type { Member, Organisation } from '../members/members.repository';
import * as membersRepo from '../members/members.repository';
import { isAdminActor } from '../members/members.usecases';
import { type AllowanceExpiryFailure, allowanceExpiryOf, allowanceLotTerms } from './allowances.models';
import type { AllowanceRule, AllowanceTarget } from './allowances.repository';
import * as repo from './allowances.repository';
import type { AllowancePeriod } from './allowances.tables';

const periodKind = { weekly: 'week', monthly: 'month' } as const;

export type SetAllowanceFailure =
  | 'not_an_admin'
  | 'amount_invalid'
  | 'member_not_found'
  | 'cap_invalid'
  | AllowanceExpiryFailure;

/**
 * Sets (or replaces) the recurring allowance of a role or of one member. `expiry` (allowances.models.ts):
 * a number of days after which each period's tokens expire, or the rule's last day.
 */
export async function setAllowance(
  ctx: Ctx,
  input: {
    orgId: bigint;
    actor: Actor;
    target: AllowanceTarget;
    amount: bigint;
    period: AllowancePeriod;
    rolloverCapTokens: bigint | null;
    expiry?: ExpiryInput;
  },
): Promise<Result<AllowanceRule, SetAllowanceFailure>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  if (!isValidAmount(input.amount)) return fail('amount_invalid');
  if (
    input.rolloverCapTokens !== null &&
    (input.rolloverCapTokens < 0n || input.rolloverCapTokens > transferTokensMax)
  ) {
    return fail('cap_invalid');
  }
  if ('memberId' in input.target && !(await membersRepo.findMember(ctx.db.orm, input.orgId, input.target.memberId))) {
    return fail('member_not_found');
  }
  const now = ctx.clock.now();
  const organisation = await membersRepo.findOrganisationById(ctx.db.orm, input.orgId);
  const expiry = allowanceExpiryOf(input.expiry, {
    rolloverCapTokens: input.rolloverCapTokens,
    now,
    timeZone: organisation?.timeZone ?? 'UTC',
  });
  if (!expiry.ok) return expiry;
  const rule = await ctx.db.orm.transaction(async (tx) => {
    await repo.retireRules(tx, input.orgId, input.target, now);
    const created = await repo.insertRule(tx, { ...input, ...expiry.value, at: now });
    await membersRepo.insertActorAudit(tx, {
      orgId: input.orgId,
      actor: input.actor,
      action: 'allowance.set',
      details: {
        ruleId: created.id,
        target: input.target,
        amount: input.amount,
        period: input.period,
        cap: input.rolloverCapTokens,
        ...expiry.value,
      },
      at: now,
    });
    return created;
  });
  return ok(rule);
}

export async function removeAllowance(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; target: AllowanceTarget },
): Promise<Result<{ removed: number }, 'not_an_admin' | 'allowance_not_found'>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  const now = ctx.clock.now();
  const removed = await ctx.db.orm.transaction(async (tx) => {
    const count = await repo.retireRules(tx, input.orgId, input.target, now);
    if (count > 0) {
      await membersRepo.insertActorAudit(tx, {
        orgId: input.orgId,
        actor: input.actor,
        action: 'allowance.remove',
        details: { target: input.target },
        at: now,
      });
    }
    return count;
  });
  return removed === 0 ? fail('allowance_not_found') : ok({ removed });
}

/** The rule that applies to a member: their own, else their role's. */
export function ruleForMember(rules: AllowanceRule[], member: Member): AllowanceRule | undefined {
  return rules.find((rule) => rule.memberId === member.id) ?? rules.find((rule) => rule.role === member.role);
}

function memberZone(member: Member, organisation: Organisation): string {
  return member.timeZone ?? organisation.timeZone;
}

/** The idempotency key of one member's allowance for the period starting at `start`. */
export function allowanceKey(rule: AllowanceRule, member: Member, start: Date, zone: string): string {
  return `allowance:${rule.id}:${member.id}:${localDate(start, zone)}`;
}

export interface SweepReport {
  issued: number;
  alreadyIssued: number;
  /** Tokens that expired in this sweep (allowance above its rollover cap, and any other lot due). */
  expiredTokens: bigint;
}

/**
 * Issues every allowance due in one organisation: for each member with a rule, the current period
 * (in the member's own zone) gets its allowance once, as a lot that expires at the period's end
 * keeping up to the rule's rollover cap (allot_expire_lot). The organisation's due lots are expired
 * first, so the previous period's unused allowance above the cap is gone before the new one arrives.
 * Safe to run on several replicas at once and as often as wanted: the ledger's idempotency keys make
 * each issue happen once.
 */
export async function issueDueAllowances(ctx: Ctx, input: { orgId: bigint }): Promise<SweepReport> {
  const report: SweepReport = { issued: 0, alreadyIssued: 0, expiredTokens: 0n };
  const organisation = await membersRepo.findOrganisationById(ctx.db.orm, input.orgId);
  if (!organisation) return report;
  const rules = await repo.listLiveRules(ctx.db.orm, input.orgId);
  if (rules.length === 0) return report;
  for (const expiry of await expireDueLots(ctx, { orgId: input.orgId })) report.expiredTokens += expiry.amount;
  const now = ctx.clock.now();
  const due: DueAllowance[] = [];
  for (const member of await membersRepo.listMembers(ctx.db.orm, input.orgId)) {
    if (!member.isActive || member.isBot) continue;
    const rule = ruleForMember(rules, member);
    if (!rule) continue;
    const zone = memberZone(member, organisation);
    const start = periodStart(periodKind[rule.period], zone, now);
    // A rule with an end date issues nothing for a period that starts after it.
    if (!allowanceLotTerms(rule, { start, timeZone: zone }).issue) continue;
    const end = nextPeriodStart(periodKind[rule.period], zone, now);
    due.push({ member, rule, start, end, zone, idempotencyKey: allowanceKey(rule, member, start, zone) });
  }
  const done = await repo.existingOperationKeys(
    ctx.db.orm,
    input.orgId,
    due.map((item) => item.idempotencyKey),
  );
  for (const item of due) {
    if (done.has(item.idempotencyKey)) {
      report.alreadyIssued++;
      continue;
    }
    if (await issueAllowance(ctx, input.orgId, item)) report.issued++;
    else report.alreadyIssued++;
  }
  return report;
}

/** One member's allowance for the current period, its ledger key decided. */
interface DueAllowance {
  member: Member;
  rule: AllowanceRule;
  idempotencyKey: string;
  start: Date;
  /** The period's end: the allowance's lot expires then, keeping up to the rule's rollover cap. */
  end: Date;
  zone: string;
}

/**
 * Allocates the period's allowance from the treasury into the member's wallet, as a lot expiring at
 * the period's end that keeps up to the rollover cap (no cap: keeps all); false when another replica
 * issued it first (the key is taken).
 */
async function issueAllowance(ctx: Ctx, orgId: bigint, item: DueAllowance): Promise<boolean> {
  const balances = await getBalances(ctx.db.orm, orgId, item.member.id);
  const treasury = await findAccount(ctx.db.orm, orgId, 'treasury');
  if (!balances || !treasury) throw new Error(`accounts missing for member ${item.member.id}`);
  // A rule with an expiry gives its lot that expiry and no rollover (allowances.models.ts).
  const terms = allowanceLotTerms(item.rule, { start: item.start, end: item.end, timeZone: item.zone });
  const expiresAt = terms.issue && terms.expiresAt ? terms.expiresAt : undefined;
  const result = await post(ctx.db.orm, {
    orgId,
    idempotencyKey: item.idempotencyKey,
    requestHash: hashOperation({ code: 'allocate', key: item.idempotencyKey, amount: item.rule.amount }),
    code: 'allocate',
    legs: [{ debitAccountId: treasury.id, creditAccountId: balances.walletAccountId, amount: item.rule.amount }],
    actorMemberId: null,
    platform: 'system',
    memo: `${item.rule.period} allowance from ${localDate(item.start, item.zone)}`,
    reversesTransferId: null,
    lotExpiresAt: [expiresAt ?? item.end],
    rolloverTokens: expiresAt ? null : (item.rule.rolloverCapTokens ?? transferTokensMax),
  });
  if (result.status !== 'ok' && result.status !== 'exists') throw new Error(`allocate: ${result.status}`);
  return result.status === 'ok';
}

/** When a member's allowance next arrives, and how much; undefined without a rule. */
export async function nextAllowance(
  ctx: Ctx,
  input: { orgId: bigint; memberId: bigint },
): Promise<{ amount: bigint; period: AllowancePeriod; at: Date; timeZone: string } | undefined> {
  const organisation = await membersRepo.findOrganisationById(ctx.db.orm, input.orgId);
  const member = await membersRepo.findMember(ctx.db.orm, input.orgId, input.memberId);
  if (!organisation || !member) return undefined;
  const rule = ruleForMember(await repo.listLiveRules(ctx.db.orm, input.orgId), member);
  if (!rule) return undefined;
  const zone = memberZone(member, organisation);
  return {
    amount: rule.amount,
    period: rule.period,
    at: nextPeriodStart(periodKind[rule.period], zone, ctx.clock.now()),
    timeZone: zone,
  };
}
