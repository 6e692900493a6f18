import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { type Orm, queryRows } from '../db/client';
import { transfers } from '../ledger/ledger.tables';
import type { MemberRole } from '../members/members.tables';
import { type AllowancePeriod, allowanceRules } from './allowances.tables';

export type AllowanceRule = typeof allowanceRules.$inferSelect;

/** Bound on live rules per organisation (one per role plus per-member overrides). */
export const allowanceRulesMax = 1_000;

export type AllowanceTarget = { role: MemberRole } | { memberId: bigint };

function targetCondition(target: AllowanceTarget) {
  return 'role' in target ? eq(allowanceRules.role, target.role) : eq(allowanceRules.memberId, target.memberId);
}

/** Organisations with at least one live allowance rule, by id, at most `limit`. */
export async function listOrganisationsWithLiveRules(orm: Orm, limit: number): Promise<bigint[]> {
  const rows = await queryRows<{ org_id: string }>(
    orm,
    sql`select distinct org_id::text from allowance_rules where removed_at is null order by 1 limit ${limit}`,
  );
  return rows.map((row) => BigInt(row.org_id));
}

export async function listLiveRules(orm: Orm, orgId: bigint): Promise<AllowanceRule[]> {
  return orm
    .select()
    .from(allowanceRules)
    .where(and(eq(allowanceRules.orgId, orgId), isNull(allowanceRules.removedAt)))
    .orderBy(allowanceRules.id)
    .limit(allowanceRulesMax);
}

/** Retires the live rule for a target; returns how many were retired. */
export async function retireRules(orm: Orm, orgId: bigint, target: AllowanceTarget, at: Date): Promise<number> {
  const rows = await orm
    .update(allowanceRules)
    .set({ removedAt: at })
    .where(and(eq(allowanceRules.orgId, orgId), isNull(allowanceRules.removedAt), targetCondition(target)))
    .returning({ id: allowanceRules.id });
  return rows.length;
}

export async function insertRule(
  orm: Orm,
  input: {
    orgId: bigint;
    target: AllowanceTarget;
    amount: bigint;
    period: AllowancePeriod;
    rolloverCapTokens: bigint | null;
    expiresAfterDays?: number | null;
    endsOn?: string | null;
    at: Date;
  },
): Promise<AllowanceRule> {
  const [row] = await orm
    .insert(allowanceRules)
    .values({
      orgId: input.orgId,
      role: 'role' in input.target ? input.target.role : null,
      memberId: 'memberId' in input.target ? input.target.memberId : null,
      amount: input.amount,
      period: input.period,
      rolloverCapTokens: input.rolloverCapTokens,
      expiresAfterDays: input.expiresAfterDays ?? null,
      endsOn: input.endsOn ?? null,
      createdAt: input.at,
    })
    .returning();
  return row!;
}

/** Which of these operation keys already have transfers (one indexed probe for a whole sweep). */
export async function existingOperationKeys(orm: Orm, orgId: bigint, keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = await orm
    .selectDistinct({ key: transfers.idempotencyKey })
    .from(transfers)
    .where(and(eq(transfers.orgId, orgId), inArray(transfers.idempotencyKey, keys)));
  return new Set(rows.map((row) => row.key));
}
