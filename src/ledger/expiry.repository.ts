import { sql } from 'drizzle-orm';
import { type Orm, queryRows } from '../db/client';

/** A lot whose expiry has come and that still holds tokens. */
export interface DueLot {
  orgId: bigint;
  lotId: bigint;
}

/**
 * Lots due to expire at `now` (expiry passed, tokens left), soonest first, at most `limit`; with
 * `orgId`, that organisation's only. Reads the partial index lots_due_idx.
 */
export async function findDueLots(orm: Orm, input: { now: Date; limit: number; orgId?: bigint }): Promise<DueLot[]> {
  const rows = await queryRows<{ org_id: string; id: string }>(
    orm,
    sql`select l.org_id, l.id from lots l
         where l.live and l.expires_at is not null and l.expires_at <= ${input.now.toISOString()}::timestamptz
           and ${input.orgId === undefined ? sql`true` : sql`l.org_id = ${input.orgId.toString()}::bigint`}
         order by l.expires_at, l.id
         limit ${input.limit}`,
  );
  return rows.map((row) => ({ orgId: BigInt(row.org_id), lotId: BigInt(row.id) }));
}

/** What one lot's expiry did (allot_expire_lot). */
export interface LotExpiry {
  orgId: bigint;
  lotId: bigint;
  memberId: bigint;
  accountId: bigint;
  /** Tokens moved to the `expired` account (0: none, e.g. all held by calls in flight). */
  amount: bigint;
  /** An allowance's tokens that rolled over and no longer expire. */
  kept: bigint;
  expiresAt: Date;
  transferId: bigint | null;
  /** expired: done; held: tokens held by open reservations stay, and expire at a later sweep. */
  status: 'expired' | 'held';
}

/**
 * Expires one lot in one statement (its own transaction unless `orm` is one): allot_expire_lot, in
 * migrations/0011_lots.sql. Undefined when there was nothing to do (another replica did it first).
 */
export async function expireLot(orm: Orm, lot: DueLot, now: Date): Promise<LotExpiry | undefined> {
  const [row] = await queryRows<{
    o_member: string;
    o_account: string;
    o_amount: string;
    o_kept: string;
    o_expires_at: string;
    o_transfer: string | null;
    o_status: 'expired' | 'held';
  }>(
    orm,
    sql`select * from allot_expire_lot(${lot.orgId.toString()}::bigint, ${lot.lotId.toString()}::bigint,
                                        ${now.toISOString()}::timestamptz)`,
  );
  if (!row) return undefined;
  return {
    ...lot,
    memberId: BigInt(row.o_member),
    accountId: BigInt(row.o_account),
    amount: BigInt(row.o_amount),
    kept: BigInt(row.o_kept),
    expiresAt: new Date(row.o_expires_at),
    transferId: row.o_transfer === null ? null : BigInt(row.o_transfer),
    status: row.o_status,
  };
}
