import { and, asc, eq, sql } from 'drizzle-orm';
import { type Orm, queryRows } from '../db/client';
import { periodTotals } from '../usage/leaderboard.repository';
import { receivedCodesSql } from '../usage/usage.repository';
import { digestDeliveries, digestSchedules } from './digest.tables';

export type DigestSchedule = typeof digestSchedules.$inferSelect;
export type DigestDelivery = typeof digestDeliveries.$inferSelect;

/** Bound on schedules one replica keeps timers for. */
export const digestSchedulesMax = 10_000;

export async function upsertSchedule(
  orm: Orm,
  input: {
    orgId: bigint;
    platform: DigestSchedule['platform'];
    destination: Record<string, string>;
    destinationKey: string;
    cron: string;
    timeZone: string;
    createdBy: bigint | null;
    at: Date;
  },
): Promise<DigestSchedule> {
  const [row] = await orm
    .insert(digestSchedules)
    .values({ ...input, enabled: true, updatedAt: input.at })
    .onConflictDoUpdate({
      target: [digestSchedules.orgId, digestSchedules.destinationKey],
      set: {
        cron: input.cron,
        timeZone: input.timeZone,
        enabled: true,
        updatedAt: input.at,
        failuresInRow: 0,
        lastFailure: null,
      },
    })
    .returning();
  return row!;
}

export async function disableSchedules(
  orm: Orm,
  orgId: bigint,
  destinationKey: string | null,
  at: Date,
): Promise<number> {
  const rows = await orm
    .update(digestSchedules)
    .set({ enabled: false, updatedAt: at })
    .where(
      and(
        eq(digestSchedules.orgId, orgId),
        eq(digestSchedules.enabled, true),
        destinationKey === null ? sql`true` : eq(digestSchedules.destinationKey, destinationKey),
      ),
    )
    .returning({ id: digestSchedules.id });
  return rows.length;
}

export async function listEnabledSchedules(orm: Orm, orgId?: bigint): Promise<DigestSchedule[]> {
  return orm
    .select()
    .from(digestSchedules)
    .where(and(eq(digestSchedules.enabled, true), orgId === undefined ? sql`true` : eq(digestSchedules.orgId, orgId)))
    .orderBy(asc(digestSchedules.orgId), asc(digestSchedules.id))
    .limit(digestSchedulesMax);
}

export async function findSchedule(orm: Orm, orgId: bigint, id: bigint): Promise<DigestSchedule | undefined> {
  const [row] = await orm
    .select()
    .from(digestSchedules)
    .where(and(eq(digestSchedules.orgId, orgId), eq(digestSchedules.id, id)))
    .limit(1);
  return row;
}

export async function recordScheduleOutcome(
  orm: Orm,
  input: { orgId: bigint; scheduleId: bigint; failure: string | null },
): Promise<void> {
  await orm
    .update(digestSchedules)
    .set(
      input.failure === null
        ? { failuresInRow: 0, lastFailure: null }
        : { failuresInRow: sql`${digestSchedules.failuresInRow} + 1`, lastFailure: input.failure.slice(0, 500) },
    )
    .where(and(eq(digestSchedules.orgId, input.orgId), eq(digestSchedules.id, input.scheduleId)));
}

/** Records a delivery once per run key; a second record for the same run is ignored. */
export async function insertDelivery(orm: Orm, input: typeof digestDeliveries.$inferInsert): Promise<boolean> {
  const rows = await orm
    .insert(digestDeliveries)
    .values(input)
    .onConflictDoNothing()
    .returning({ idempotencyKey: digestDeliveries.idempotencyKey });
  return rows.length === 1;
}

export async function findDelivery(
  orm: Orm,
  orgId: bigint,
  idempotencyKey: string,
): Promise<DigestDelivery | undefined> {
  const [row] = await orm
    .select()
    .from(digestDeliveries)
    .where(and(eq(digestDeliveries.orgId, orgId), eq(digestDeliveries.idempotencyKey, idempotencyKey)))
    .limit(1);
  return row;
}

// ---------------------------------------------------------------------------------------------
// What a digest reads. Every query is bounded and reads rollups, never raw usage events.

/** Most members named in any one list of a digest (leaderboard, movers, recipients). */
export const digestListMax = 10;

export interface WeekTotals {
  events: bigint;
  tokens: bigint;
  value: bigint;
  costMicros: bigint;
  members: number;
}

export async function weekTotals(orm: Orm, orgId: bigint, weekStartDay: string): Promise<WeekTotals> {
  const [row] = await queryRows<{ events: string; tokens: string; value: string; cost: string; members: string }>(
    orm,
    sql`select coalesce(sum(events), 0)::text as events, coalesce(sum(tokens), 0)::text as tokens,
               coalesce(sum(value), 0)::text as value, coalesce(sum(cost_micros), 0)::text as cost,
               count(*)::text as members
          from ${periodTotals(orgId, 'week', weekStartDay)} t`,
  );
  return {
    events: BigInt(row?.events ?? 0),
    tokens: BigInt(row?.tokens ?? 0),
    value: BigInt(row?.value ?? 0),
    costMicros: BigInt(row?.cost ?? 0),
    members: Number(row?.members ?? 0),
  };
}

export interface Mover {
  memberId: bigint;
  name: string;
  value: bigint;
  previousValue: bigint;
}

/** Members whose value-weighted use grew most against the week before (opted-out and deactivated members excluded). */
export async function biggestMovers(
  orm: Orm,
  orgId: bigint,
  weekStartDay: string,
  previousStartDay: string,
): Promise<Mover[]> {
  const rows = await queryRows<{ member_id: string; name: string; value: string; previous: string }>(
    orm,
    sql`select m.id::text as member_id, m.display_name as name,
               coalesce(cur.value, 0)::text as value, coalesce(prev.value, 0)::text as previous
          from ${periodTotals(orgId, 'week', weekStartDay)} cur
          join members m on m.org_id = ${orgId} and m.id = cur.member_id
          left join ${periodTotals(orgId, 'week', previousStartDay)} prev on prev.member_id = cur.member_id
         where not m.leaderboard_opt_out and m.is_active and coalesce(cur.value, 0) > coalesce(prev.value, 0)
         order by coalesce(cur.value, 0) - coalesce(prev.value, 0) desc, m.id
         limit ${digestListMax}`,
  );
  return rows.map((row) => ({
    memberId: BigInt(row.member_id),
    name: row.name,
    value: BigInt(row.value),
    previousValue: BigInt(row.previous),
  }));
}

export interface GrantStats {
  grants: number;
  total: bigint;
  topRecipients: { memberId: bigint; name: string; amount: bigint }[];
  topGranters: { memberId: bigint; name: string; amount: bigint }[];
}

export async function grantStats(orm: Orm, orgId: bigint, from: Date, to: Date): Promise<GrantStats> {
  const window = sql`t.org_id = ${orgId} and t.code = 'grant'
    and t.created_at >= ${from.toISOString()}::timestamptz and t.created_at < ${to.toISOString()}::timestamptz
    and not exists (select 1 from transfers r where r.org_id = t.org_id and r.reverses_transfer_id = t.id)`;
  const [totals] = await queryRows<{ grants: string; total: string }>(
    orm,
    sql`select count(*)::text as grants, coalesce(sum(t.amount), 0)::text as total from transfers t where ${window}`,
  );
  const recipients = await queryRows<{ member_id: string; name: string; amount: string }>(
    orm,
    sql`select m.id::text as member_id, m.display_name as name, sum(t.amount)::text as amount
          from transfers t
          join accounts a on a.org_id = t.org_id and a.id = t.credit_account_id
          join members m on m.org_id = a.org_id and m.id = a.member_id
         where ${window}
         group by m.id, m.display_name order by sum(t.amount) desc, m.id limit ${digestListMax}`,
  );
  const granters = await queryRows<{ member_id: string; name: string; amount: string }>(
    orm,
    sql`select m.id::text as member_id, m.display_name as name, sum(t.amount)::text as amount
          from transfers t
          join members m on m.org_id = t.org_id and m.id = t.actor_member_id
         where ${window}
         group by m.id, m.display_name order by sum(t.amount) desc, m.id limit ${digestListMax}`,
  );
  const toEntry = (row: { member_id: string; name: string; amount: string }) => ({
    memberId: BigInt(row.member_id),
    name: row.name,
    amount: BigInt(row.amount),
  });
  return {
    grants: Number(totals?.grants ?? 0),
    total: BigInt(totals?.total ?? 0),
    topRecipients: recipients.map(toEntry),
    topGranters: granters.map(toEntry),
  };
}

/** Tokens moved to `expired` in [from, to) (every `expire` transfer: lots past their expiry, allowances past their cap). */
export async function expiredTokens(orm: Orm, orgId: bigint, from: Date, to: Date): Promise<bigint> {
  const [row] = await queryRows<{ total: string }>(
    orm,
    sql`select coalesce(sum(t.amount), 0)::text as total from transfers t
         where t.org_id = ${orgId} and t.code = 'expire'
           and t.created_at >= ${from.toISOString()}::timestamptz and t.created_at < ${to.toISOString()}::timestamptz`,
  );
  return BigInt(row?.total ?? 0);
}

export async function requestStats(
  orm: Orm,
  orgId: bigint,
  from: Date,
  to: Date,
): Promise<{ approved: number; denied: number; expired: number; approvedTokens: bigint }> {
  const rows = await queryRows<{ state: string; count: string; amount: string }>(
    orm,
    sql`select state, count(*)::text as count, coalesce(sum(amount), 0)::text as amount from topup_requests
         where org_id = ${orgId} and decided_at >= ${from.toISOString()}::timestamptz
           and decided_at < ${to.toISOString()}::timestamptz and state in ('approved', 'denied', 'expired')
         group by state`,
  );
  const byState = new Map(rows.map((row) => [row.state, row]));
  return {
    approved: Number(byState.get('approved')?.count ?? 0),
    denied: Number(byState.get('denied')?.count ?? 0),
    expired: Number(byState.get('expired')?.count ?? 0),
    approvedTokens: BigInt(byState.get('approved')?.amount ?? 0),
  };
}

export interface LimitWatch {
  memberId: bigint;
  name: string;
  managerId: bigint | null;
  balance: bigint;
  received: bigint;
}

/**
 * Members near or over their limit: wallets below zero (overage) or near it by `isNearLimit` of
 * usage/limits.models (at most `percentLeft` % left of what they received since `since`), stated here
 * in SQL with the same integers so the scan stays bounded. Managers receive only their own reports.
 */
export async function membersNearLimit(
  orm: Orm,
  orgId: bigint,
  since: Date,
  percentLeft: number,
): Promise<LimitWatch[]> {
  const rows = await queryRows<{
    member_id: string;
    name: string;
    manager_id: string | null;
    balance: string;
    received: string;
  }>(
    orm,
    sql`with received as (
          select t.credit_account_id as account_id, sum(t.amount) as amount from transfers t
           where t.org_id = ${orgId} and t.code in (${receivedCodesSql()})
             and t.created_at >= ${since.toISOString()}::timestamptz
           group by t.credit_account_id
        )
        select m.id::text as member_id, m.display_name as name, m.manager_id::text as manager_id,
               a.balance::text as balance, coalesce(r.amount, 0)::text as received
          from accounts a
          join members m on m.org_id = a.org_id and m.id = a.member_id
          left join received r on r.account_id = a.id
         where a.org_id = ${orgId} and a.kind = 'wallet' and m.is_active
           and (a.balance < 0 or (coalesce(r.amount, 0) > 0
                and a.balance * 10000 <= coalesce(r.amount, 0) * ${Math.round(percentLeft * 100)}))
         order by a.balance, m.id
         limit 500`,
  );
  return rows.map((row) => ({
    memberId: BigInt(row.member_id),
    name: row.name,
    managerId: row.manager_id === null ? null : BigInt(row.manager_id),
    balance: BigInt(row.balance),
    received: BigInt(row.received),
  }));
}
