import { sql } from 'drizzle-orm';
import { type Orm, queryRows } from '../db/client';
import type { ReservationState } from './reservations.tables';

// Reservations in the database: each call is one round trip to a function of
// migrations/0005_reservations.sql, which holds the locking and the once-only rules.

export interface ReservationRow {
  id: bigint;
  state: ReservationState;
  amount: bigint;
  expiresAt: Date;
  createdAt: Date;
}

export type ReserveStatus = 'ok' | 'exists' | 'conflict' | 'insufficient' | 'account_not_found';

export interface ReserveOutcome {
  status: ReserveStatus;
  /** Present unless the status is `insufficient` or `account_not_found`. */
  reservation: ReservationRow | null;
  /** The wallet's available (balance − held) after the call; null when it has no wallet. */
  available: bigint | null;
}

/** Holds `amount` tokens on the member's wallet when its available covers it (allot_reserve). */
export async function reserve(
  orm: Orm,
  input: {
    orgId: bigint;
    idempotencyKey: string;
    requestHash: string;
    memberId: bigint;
    userRef: string;
    amount: bigint;
    model: string | null;
    now: Date;
    expiresAt: Date;
  },
): Promise<ReserveOutcome> {
  const [row] = await queryRows<{
    o_status: ReserveStatus;
    o_id: string | null;
    o_state: ReservationState | null;
    o_amount: string | null;
    o_expires_at: string | Date | null;
    o_created_at: string | Date | null;
    o_available: string | null;
  }>(
    orm,
    sql`select * from allot_reserve(
      ${input.orgId.toString()}::bigint, ${input.idempotencyKey}, ${input.requestHash},
      ${input.memberId.toString()}::bigint, ${input.userRef}, ${input.amount.toString()}::bigint, ${input.model},
      ${input.now.toISOString()}::timestamptz, ${input.expiresAt.toISOString()}::timestamptz)`,
  );
  if (!row) throw new Error('allot_reserve returned no row');
  return {
    status: row.o_status,
    reservation:
      row.o_id === null
        ? null
        : {
            id: BigInt(row.o_id),
            state: row.o_state!,
            amount: BigInt(row.o_amount!),
            expiresAt: new Date(row.o_expires_at!),
            createdAt: new Date(row.o_created_at!),
          },
    available: row.o_available === null ? null : BigInt(row.o_available),
  };
}

export interface ResolveOutcome {
  status: 'ok' | 'already_resolved' | 'not_found';
  state: ReservationState | null;
  amount: bigint | null;
  resolvedAt: Date | null;
  usageEventId: string | null;
}

/** Resolves an open reservation to `settled` or `released` and frees its hold (allot_resolve_reservation). */
export async function resolve(
  orm: Orm,
  input: { orgId: bigint; id: bigint; state: 'settled' | 'released'; now: Date; usageEventId: string | null },
): Promise<ResolveOutcome> {
  const [row] = await queryRows<{
    o_status: ResolveOutcome['status'];
    o_state: ReservationState | null;
    o_amount: string | null;
    o_resolved_at: string | Date | null;
    o_usage_event: string | null;
  }>(
    orm,
    sql`select * from allot_resolve_reservation(${input.orgId.toString()}::bigint, ${input.id.toString()}::bigint,
      ${input.state}, ${input.now.toISOString()}::timestamptz, ${input.usageEventId})`,
  );
  if (!row) throw new Error('allot_resolve_reservation returned no row');
  return {
    status: row.o_status,
    state: row.o_state,
    amount: row.o_amount === null ? null : BigInt(row.o_amount),
    resolvedAt: row.o_resolved_at === null ? null : new Date(row.o_resolved_at),
    usageEventId: row.o_usage_event,
  };
}

export interface ExpiredReservation {
  orgId: bigint;
  id: bigint;
  memberId: bigint;
  amount: bigint;
}

/** Expires at most `limit` reservations past their deadline at `now` (allot_expire_reservations). */
export async function expireDue(orm: Orm, now: Date, limit: number): Promise<ExpiredReservation[]> {
  const rows = await queryRows<{ org_id: string; id: string; member_id: string; amount: string }>(
    orm,
    sql`select * from allot_expire_reservations(${now.toISOString()}::timestamptz, ${limit}::integer)`,
  );
  return rows.map((row) => ({
    orgId: BigInt(row.org_id),
    id: BigInt(row.id),
    memberId: BigInt(row.member_id),
    amount: BigInt(row.amount),
  }));
}

export interface StoredReservation extends ReservationRow {
  idempotencyKey: string;
  memberId: bigint;
  userRef: string;
  model: string | null;
  resolvedAt: Date | null;
  usageEventId: string | null;
}

/** A reservation by the gateway's id for it. */
export async function findByKey(
  orm: Orm,
  orgId: bigint,
  idempotencyKey: string,
): Promise<StoredReservation | undefined> {
  const [row] = await queryRows<{
    id: string;
    idempotency_key: string;
    member_id: string;
    user_ref: string;
    model: string | null;
    state: ReservationState;
    amount: string;
    expires_at: string | Date;
    created_at: string | Date;
    resolved_at: string | Date | null;
    usage_event_id: string | null;
  }>(
    orm,
    sql`select id::text, idempotency_key, member_id::text, user_ref, model, state, amount::text, expires_at,
               created_at, resolved_at, usage_event_id
          from reservations where org_id = ${orgId.toString()}::bigint and idempotency_key = ${idempotencyKey}`,
  );
  if (!row) return undefined;
  return {
    id: BigInt(row.id),
    idempotencyKey: row.idempotency_key,
    memberId: BigInt(row.member_id),
    userRef: row.user_ref,
    model: row.model,
    state: row.state,
    amount: BigInt(row.amount),
    expiresAt: new Date(row.expires_at),
    createdAt: new Date(row.created_at),
    resolvedAt: row.resolved_at === null ? null : new Date(row.resolved_at),
    usageEventId: row.usage_event_id,
  };
}

/** A wallet's balance, what its open reservations hold, and what is available (balance − held). */
export async function findWalletHolding(
  orm: Orm,
  orgId: bigint,
  memberId: bigint,
): Promise<{ balance: bigint; held: bigint; available: bigint } | undefined> {
  const [row] = await queryRows<{ balance: string; held: string }>(
    orm,
    sql`select balance::text, held::text from accounts
         where org_id = ${orgId.toString()}::bigint and kind = 'wallet' and member_id = ${memberId.toString()}::bigint`,
  );
  if (!row) return undefined;
  const balance = BigInt(row.balance);
  const held = BigInt(row.held);
  return { balance, held, available: balance - held };
}
