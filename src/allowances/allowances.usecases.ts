import type { Orm } from '../db/client';
import { hashOperation, isValidAmount } from '../ledger/ledger.models';
import { findAccount } from '../ledger/ledger.repository';
import { transferTokensMax } from '../ledger/ledger.tables';
import { getBalances, post } from '../ledger/ledger.usecases';
import type { Actor, Ctx } from '../lib/context';
import { withRetries } from '../lib/db-errors';
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
  expiredTokens: bigint;
}

/**
 * Issues every allowance due in one organisation: for each member with a rule, the current period
 * (in the member's own zone) gets its allowance once. Unused allowance of the previous period beyond
 * the rollover cap moves to `expired` in the same transaction. Safe to run on several replicas at
 * once and as often as wanted: the ledger's idempotency keys make each issue happen once.
 */
export async function issueDueAllowances(ctx: Ctx, input: { orgId: bigint }): Promise<SweepReport> {
  const report: SweepReport = { issued: 0, alreadyIssued: 0, expiredTokens: 0n };
  const organisation = await membersRepo.findOrganisationById(ctx.db.orm, input.orgId);
  if (!organisation) return report;
  const rules = await repo.listLiveRules(ctx.db.orm, input.orgId);
  if (rules.length === 0) return report;
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
    due.push({ member, rule, start, zone, idempotencyKey: allowanceKey(rule, member, start, zone) });
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
    const outcome = await withRetries(() => ctx.db.orm.transaction((tx) => issueAllowance(tx, input.orgId, item)));
    if (outcome.issued) report.issued++;
    else report.alreadyIssued++;
    report.expiredTokens += outcome.expired;
  }
  return report;
}

/** One member's allowance for the current period, its ledger key decided. */
interface DueAllowance {
  member: Member;
  rule: AllowanceRule;
  idempotencyKey: string;
  start: Date;
  zone: string;
}

/**
 * In one transaction: expires what the rollover cap does not carry over, then allocates the period's
 * allowance from the treasury; nothing when another replica issued it first (the key is taken).
 */
async function issueAllowance(
  tx: Orm,
  orgId: bigint,
  item: DueAllowance,
): Promise<{ issued: boolean; expired: bigint }> {
  if ((await repo.existingOperationKeys(tx, orgId, [item.idempotencyKey])).size > 0)
    return { issued: false, expired: 0n };
  const balances = await getBalances(tx, orgId, item.member.id);
  const treasury = await findAccount(tx, orgId, 'treasury');
  const expiredAccount = await findAccount(tx, orgId, 'expired');
  if (!balances || !treasury || !expiredAccount) throw new Error(`accounts missing for member ${item.member.id}`);
  let expired = 0n;
  if (item.rule.rolloverCapTokens !== null) {
    const previous = await repo.lastAllowanceUse(tx, orgId, balances.walletAccountId);
    const left = previous.amount > previous.spent ? previous.amount - previous.spent : 0n;
    const unused = balances.wallet < left ? (balances.wallet > 0n ? balances.wallet : 0n) : left;
    expired = unused > item.rule.rolloverCapTokens ? unused - item.rule.rolloverCapTokens : 0n;
    if (expired > 0n) {
      const expireKey = item.idempotencyKey.replace(/^allowance:/, 'expire:');
      const result = await post(
        tx,
        {
          orgId,
          idempotencyKey: expireKey,
          requestHash: hashOperation({ code: 'expire', key: expireKey, amount: expired }),
          code: 'expire',
          legs: [{ debitAccountId: balances.walletAccountId, creditAccountId: expiredAccount.id, amount: expired }],
          actorMemberId: null,
          platform: 'system',
          memo: `unused allowance above the rollover cap of ${item.rule.rolloverCapTokens}`,
          reversesTransferId: null,
        },
        true,
      );
      if (result.status !== 'ok') throw new Error(`expire: ${result.status}`);
    }
  }
  // A rule with an expiry gives its lot that expiry and no rollover (allowances.models.ts).
  const terms = allowanceLotTerms(item.rule, { start: item.start, timeZone: item.zone });
  const expiryTerms =
    terms.issue && terms.expiresAt ? { lotExpiresAt: [terms.expiresAt], rolloverTokens: terms.rolloverTokens } : {};
  const result = await post(
    tx,
    {
      ...expiryTerms,
      orgId,
      idempotencyKey: item.idempotencyKey,
      requestHash: hashOperation({ code: 'allocate', key: item.idempotencyKey, amount: item.rule.amount }),
      code: 'allocate',
      legs: [{ debitAccountId: treasury.id, creditAccountId: balances.walletAccountId, amount: item.rule.amount }],
      actorMemberId: null,
      platform: 'system',
      memo: `${item.rule.period} allowance from ${localDate(item.start, item.zone)}`,
      reversesTransferId: null,
    },
    true,
  );
  if (result.status !== 'ok') throw new Error(`allocate: ${result.status}`);
  return { issued: true, expired };
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
