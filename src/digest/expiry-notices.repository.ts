import { sql } from 'drizzle-orm';
import { type Orm, queryRows } from '../db/client';
import type { ExpiryNoticeKind } from './expiry-notices.tables';

// What the expiry reminders read and write: the lots of active members expiring soon that still owe a
// reminder, the lots the sweeper expired lately that were not announced yet, and the claims that make
// each notice go out once (expiry_notices).

/** A lot someone may have to be told about, with the zone that decides when. */
export interface LotNotice {
  orgId: bigint;
  lotId: bigint;
  memberId: bigint;
  accountKind: 'wallet' | 'budget';
  expiresAt: Date;
  /** Reminders: what its expiry will move to `expired`. Announcements: what it moved. */
  tokens: bigint;
  /** An allowance lot (rolls over up to a cap at the end of its period). */
  allowance: boolean;
  /** The member's zone, else the organisation's. */
  timeZone: string;
}

/** Most lots one sweep looks at, per query. */
export const noticeLotsPerSweepMax = 5_000;

interface Row {
  org_id: string;
  lot_id: string;
  member_id: string;
  kind: 'wallet' | 'budget';
  expires_at: string | Date;
  tokens: string;
  allowance: boolean;
  time_zone: string;
}

const toNotice = (row: Row): LotNotice => ({
  orgId: BigInt(row.org_id),
  lotId: BigInt(row.lot_id),
  memberId: BigInt(row.member_id),
  accountKind: row.kind,
  expiresAt: new Date(row.expires_at),
  tokens: BigInt(row.tokens),
  allowance: row.allowance,
  timeZone: row.time_zone,
});

/**
 * Live lots of active, human members with tokens to expire in (after, until], soonest first, that have
 * not had their last reminder (the day before) yet. Reads the sweeper's index of due lots.
 */
export async function lotsExpiringSoon(
  orm: Orm,
  input: { after: Date; until: Date; limit: number },
): Promise<LotNotice[]> {
  const rows = await queryRows<Row>(
    orm,
    sql`select l.org_id::text as org_id, l.id::text as lot_id, l.member_id::text as member_id, a.kind,
               l.expires_at, greatest(l.remaining - coalesce(l.rollover_tokens, 0), 0)::text as tokens,
               l.rollover_tokens is not null as allowance, coalesce(m.time_zone, o.time_zone) as time_zone
          from lots l
          join accounts a on a.org_id = l.org_id and a.id = l.account_id
          join members m on m.org_id = l.org_id and m.id = l.member_id
          join organisations o on o.id = l.org_id
         where l.live and l.expires_at is not null
           and l.expires_at > ${input.after.toISOString()}::timestamptz
           and l.expires_at <= ${input.until.toISOString()}::timestamptz
           and l.remaining > coalesce(l.rollover_tokens, 0)
           and m.is_active and not m.is_bot and a.kind in ('wallet', 'budget')
           and not exists (select 1 from expiry_notices n
                            where n.org_id = l.org_id and n.lot_id = l.id and n.kind = 'expiry_1d'
                              and n.finished_at is not null)
         order by l.expires_at, l.org_id, l.id
         limit ${Math.min(input.limit, noticeLotsPerSweepMax)}`,
  );
  return rows.map(toNotice);
}

/**
 * Lots the sweeper expired lately (its `expire` transfers of the last `withinDays` days, by the
 * database's own clock, which stamps transfers), with what each moved, not announced yet. Read from the
 * ledger (the transfers and their lot draws), so a restart or another replica sees the same.
 */
export async function lotsExpiredLately(orm: Orm, input: { withinDays: number; limit: number }): Promise<LotNotice[]> {
  const rows = await queryRows<Row>(
    orm,
    sql`select d.org_id::text as org_id, d.lot_id::text as lot_id, l.member_id::text as member_id, a.kind,
               l.expires_at, sum(d.amount)::text as tokens, l.rollover_tokens is not null as allowance,
               coalesce(m.time_zone, o.time_zone) as time_zone
          from transfers t
          join lot_draws d on d.org_id = t.org_id and d.transfer_id = t.id
          join lots l on l.org_id = d.org_id and l.id = d.lot_id
          join accounts a on a.org_id = l.org_id and a.id = l.account_id
          join members m on m.org_id = l.org_id and m.id = l.member_id
          join organisations o on o.id = l.org_id
         where t.code = 'expire' and t.created_at >= now() - make_interval(days => ${input.withinDays}::int)
           and l.expires_at is not null and m.is_active and not m.is_bot and a.kind in ('wallet', 'budget')
           and not exists (select 1 from expiry_notices n
                            where n.org_id = d.org_id and n.lot_id = d.lot_id and n.kind = 'expired'
                              and n.finished_at is not null)
         group by d.org_id, d.lot_id, l.member_id, a.kind, l.expires_at, l.rollover_tokens, m.time_zone, o.time_zone
         order by min(t.id)
         limit ${Math.min(input.limit, noticeLotsPerSweepMax)}`,
  );
  return rows.map(toNotice);
}

/**
 * Claims the notice `kind` of these lots (one organisation and member) for `claimedBy`, and returns
 * the lots claimed: a lot whose notice is finished, or claimed by another whose lease has not run out,
 * is not. The first insert wins; a lease that ran out unfinished (the claimer died) is taken over.
 */
export async function claimNotices(
  orm: Orm,
  input: {
    orgId: bigint;
    memberId: bigint;
    lotIds: bigint[];
    kind: ExpiryNoticeKind;
    claimedBy: string;
    now: Date;
    leaseMs: number;
  },
): Promise<bigint[]> {
  if (input.lotIds.length === 0) return [];
  const now = input.now.toISOString();
  const until = new Date(input.now.getTime() + input.leaseMs).toISOString();
  const rows = await queryRows<{ lot_id: string }>(
    orm,
    sql`insert into expiry_notices (org_id, lot_id, kind, member_id, claimed_by, claimed_at, lease_until)
        values ${sql.join(
          input.lotIds.map(
            (lotId) =>
              sql`(${input.orgId}, ${lotId}, ${input.kind}, ${input.memberId}, ${input.claimedBy},
                   ${now}::timestamptz, ${until}::timestamptz)`,
          ),
          sql`, `,
        )}
        on conflict (org_id, lot_id, kind) do update
           set claimed_by = excluded.claimed_by, claimed_at = excluded.claimed_at, lease_until = excluded.lease_until
         where expiry_notices.finished_at is null and expiry_notices.lease_until < excluded.claimed_at
        returning lot_id::text as lot_id`,
  );
  return rows.map((row) => BigInt(row.lot_id));
}

/** Marks claimed notices done (`sent`, or why not), so nobody sends them again. */
export async function finishNotices(
  orm: Orm,
  input: { orgId: bigint; lotIds: bigint[]; kind: ExpiryNoticeKind; claimedBy: string; now: Date; outcome: string },
): Promise<void> {
  if (input.lotIds.length === 0) return;
  await queryRows(
    orm,
    sql`update expiry_notices set finished_at = ${input.now.toISOString()}::timestamptz,
               outcome = ${input.outcome.slice(0, 500)}
         where org_id = ${input.orgId} and kind = ${input.kind} and claimed_by = ${input.claimedBy}
           and lot_id in (${sql.join(
             input.lotIds.map((id) => sql`${id}`),
             sql`, `,
           )})`,
  );
}
