import { sql } from 'drizzle-orm';
import { type Orm, queryRows } from '../db/client';
import type { ReservationState } from './reservations.tables';

// Reservations in the database: each write is one round trip to a function of
// migrations/0006_reservations.sql, which holds the locking and the once-only rules (reserves and
// settles go in batches: reservation-batches.repository.ts).

export interface ReservationRow {
  id: bigint;
  state: ReservationState;
  amount: bigint;
  expiresAt: Date;
  createdAt: Date;
}

export type ReserveStatus = 'ok' | 'exists' | 'conflict' | 'insufficient' | 'unknown_user' | 'member_inactive';

export interface ReserveOutcome {
  status: ReserveStatus;
  /** Present for `ok`, `exists` and `conflict`. */
  reservation: ReservationRow | null;
  /** The wallet's available (balance − held) after the call; null when the member is unknown. */
  available: bigint | null;
  memberId: bigint | null;
}

export type SettleStatus = 'ok' | 'conflict' | 'released' | 'not_found';

export interface SettleOutcome {
  status: SettleStatus;
  /** After the call: settled, or expired when the deadline came first. */
  state: ReservationState | null;
  /** Whether the usage event was new (`accepted`) or already stored (`duplicate`). */
  event: 'accepted' | 'duplicate' | null;
  /** What the reservation held. */
  amount: bigint | null;
  /** What this call debited (0 for a duplicate), and the wallet's balance after it. */
  debited: bigint;
  balanceAfter: bigint | null;
  memberId: bigint | null;
  walletId: bigint | null;
  /** False when this call stored the event and its model had no price (it cost 0, as /v1/usage says). */
  priced: boolean;
}

/** The settle's usage event, validated and hashed, in allot_ingest_usage's field names. */
export interface SettleEvent {
  eventId: string;
  opKey: string;
  contentHash: string;
  model: string;
  category: string;
  inputTokens: bigint;
  outputTokens: bigint;
  eventAt: Date;
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

interface StoredRow {
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
}

function storedReservation(row: StoredRow): StoredReservation {
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

/** The reservations of an organisation with these ids (at most a batch's worth), by id; unknown ids are absent. */
export async function findByKeys(
  orm: Orm,
  orgId: bigint,
  idempotencyKeys: readonly string[],
): Promise<Map<string, StoredReservation>> {
  if (idempotencyKeys.length === 0) return new Map();
  const rows = await queryRows<StoredRow>(
    orm,
    sql`select id::text, idempotency_key, member_id::text, user_ref, model, state, amount::text, expires_at,
               created_at, resolved_at, usage_event_id
          from reservations
         where org_id = ${orgId.toString()}::bigint
           and idempotency_key in (${sql.join(
             idempotencyKeys.map((key) => sql`${key}`),
             sql`, `,
           )})`,
  );
  return new Map(rows.map((row) => [row.idempotency_key, storedReservation(row)]));
}

/** A reservation by the gateway's id for it. */
export async function findByKey(
  orm: Orm,
  orgId: bigint,
  idempotencyKey: string,
): Promise<StoredReservation | undefined> {
  return (await findByKeys(orm, orgId, [idempotencyKey])).get(idempotencyKey);
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
