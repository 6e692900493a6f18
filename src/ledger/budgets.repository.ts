import { sql } from 'drizzle-orm';
import { type Orm, queryRows } from '../db/client';
import type { MemberRole } from '../members/members.tables';

// Budgets by manager, for the dashboard's organisation page: what each budget holds, how many people
// report to its holder, and what it granted since a date.

/** Bound on the budgets listed. */
export const budgetsListMax = 500;

export interface BudgetRow {
  memberId: bigint;
  displayName: string;
  email: string | null;
  role: MemberRole;
  isActive: boolean;
  budget: bigint;
  /** Active members reporting to them directly. */
  reports: number;
  /** Granted from this budget since `since` (grants only, not top-ups). */
  grantedSince: bigint;
  /** Top-ups approved from this budget since `since`. */
  toppedUpSince: bigint;
}

/**
 * Every budget held by a manager or an admin, and any other that still holds tokens, largest first (at
 * most `budgetsListMax`). Each sum is a scan of that budget's own debits by index (org, debit account).
 */
export async function listBudgets(orm: Orm, input: { orgId: bigint; since: Date }): Promise<BudgetRow[]> {
  const rows = await queryRows<Record<string, string | boolean | null>>(
    orm,
    // Holders first (managers and admins, by the members' role; anyone else only if their budget holds
    // tokens), so the sums below run for those few rows and the planner knows it.
    sql`with holders as (
          select m.org_id, m.id from members m
           where m.org_id = ${input.orgId.toString()}::bigint and m.role in ('manager', 'admin')
          union
          select a.org_id, a.member_id from accounts a
           where a.org_id = ${input.orgId.toString()}::bigint and a.kind = 'budget' and a.balance <> 0
        )
        select m.id::text as member_id, m.display_name, m.email, m.role, m.is_active, a.balance::text as budget,
               (select count(*) from members r
                 where r.org_id = m.org_id and r.manager_id = m.id and r.is_active)::text as reports,
               coalesce(d.granted, 0)::text as granted, coalesce(d.topped_up, 0)::text as topped_up
          from holders h
          join members m on m.org_id = h.org_id and m.id = h.id
          join accounts a on a.org_id = h.org_id and a.kind = 'budget' and a.member_id = h.id
          left join lateral (
            select sum(t.amount) filter (where t.code = 'grant') as granted,
                   sum(t.amount) filter (where t.code = 'topup') as topped_up
              from transfers t
             where t.org_id = a.org_id and t.debit_account_id = a.id
               and t.created_at >= ${input.since.toISOString()}::timestamptz
          ) d on true
         order by a.balance desc, m.id
         limit ${budgetsListMax}`,
  );
  return rows.map((row) => ({
    memberId: BigInt(row.member_id as string),
    displayName: row.display_name as string,
    email: row.email as string | null,
    role: row.role as MemberRole,
    isActive: row.is_active as boolean,
    budget: BigInt(row.budget as string),
    reports: Number(row.reports),
    grantedSince: BigInt(row.granted as string),
    toppedUpSince: BigInt(row.topped_up as string),
  }));
}
