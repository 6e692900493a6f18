import { sql } from 'drizzle-orm';
import { type Orm, queryRowsPrepared } from '../db/client';
import type {
  ReserveOutcome,
  ReserveStatus,
  SettleEvent,
  SettleOutcome,
  SettleStatus,
} from './reservations.repository';
import type { ReservationState } from './reservations.tables';

// Reserves and settles of one organisation applied together: one round trip to allot_reservation_batch
// (migrations/0014_reservation_batches.sql), one transaction, one answer per request.

/** A reserve as allot_reservation_batch takes it (the fields of allot_reserve). */
export interface BatchedReserve {
  idempotencyKey: string;
  requestHash: string;
  user: { kind: 'email' | 'slack' | 'teams'; value: string; text: string };
  amount: bigint;
  model: string | null;
  now: Date;
  expiresAt: Date;
}

/** A settle as allot_reservation_batch takes it: the reservation's id and its validated usage event. */
export interface BatchedSettle {
  idempotencyKey: string;
  now: Date;
  event: SettleEvent;
}

interface BatchRow {
  o_index: number;
  o_status: string;
  o_id: string | null;
  o_state: ReservationState | null;
  o_event: string | null;
  o_amount: string | null;
  o_expires_at: string | Date | null;
  o_created_at: string | Date | null;
  o_available: string | null;
  o_debited: string | null;
  o_balance: string | null;
  o_member: string | null;
  o_account: string | null;
  o_cost: string | null;
}

const big = (value: string | null) => (value === null ? null : BigInt(value));

function reserveOutcome(row: BatchRow): ReserveOutcome {
  return {
    status: row.o_status as ReserveStatus,
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
    available: big(row.o_available),
    memberId: big(row.o_member),
  };
}

function settleOutcome(row: BatchRow): SettleOutcome {
  return {
    status: row.o_status as SettleStatus,
    state: row.o_state,
    event: row.o_event === 'accepted' || row.o_event === 'duplicate' ? row.o_event : null,
    amount: big(row.o_amount),
    debited: big(row.o_debited) ?? 0n,
    balanceAfter: big(row.o_balance),
    memberId: big(row.o_member),
    walletId: big(row.o_account),
    priced: row.o_cost !== '-1',
  };
}

/**
 * Applies `settles` and `reserves` of one organisation in one transaction (allot_reservation_batch):
 * the settles first, then the reserves in the order given, each decided as if it came alone in that
 * order. Every idempotency key appears at most once across both lists. Answers in the order given.
 */
export async function applyReservationBatch(
  orm: Orm,
  input: { orgId: bigint; platform: string; settles: readonly BatchedSettle[]; reserves: readonly BatchedReserve[] },
): Promise<{ settles: SettleOutcome[]; reserves: ReserveOutcome[] }> {
  const settles = input.settles.map((settle, index) => ({
    idx: index,
    key: settle.idempotencyKey,
    now: settle.now.toISOString(),
    event: {
      event_id: settle.event.eventId,
      op_key: settle.event.opKey,
      content_hash: settle.event.contentHash,
      raw_hash: null,
      model: settle.event.model,
      category: settle.event.category,
      input_tokens: settle.event.inputTokens.toString(),
      output_tokens: settle.event.outputTokens.toString(),
      event_at: settle.event.eventAt.toISOString(),
    },
  }));
  const first = settles.length;
  const reserves = input.reserves.map((reserve, index) => ({
    idx: first + index,
    key: reserve.idempotencyKey,
    hash: reserve.requestHash,
    user_kind: reserve.user.kind,
    user_value: reserve.user.value,
    user_ref: reserve.user.text,
    amount: reserve.amount.toString(),
    model: reserve.model,
    now: reserve.now.toISOString(),
    expires_at: reserve.expiresAt.toISOString(),
  }));
  const rows = await queryRowsPrepared<BatchRow>(
    orm,
    sql`select * from allot_reservation_batch(${input.orgId.toString()}::bigint, ${input.platform},
      ${JSON.stringify(settles)}::jsonb, ${JSON.stringify(reserves)}::jsonb)`,
  );
  const byIndex = new Map(rows.map((row) => [Number(row.o_index), row]));
  const answer = (index: number) => {
    const row = byIndex.get(index);
    if (!row) throw new Error(`allot_reservation_batch gave no answer for request ${index}`);
    return row;
  };
  return {
    settles: settles.map((_, index) => settleOutcome(answer(index))),
    reserves: reserves.map((_, index) => reserveOutcome(answer(first + index))),
  };
}
