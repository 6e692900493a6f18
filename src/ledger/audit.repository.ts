import { sql } from 'drizzle-orm';
import { type Orm, queryRows } from '../db/client';

// The ledger's invariants recomputed from what is stored (`allot audit`, and the tests after every
// randomised and concurrent run): LEDGER.md's I1–I6, the reservations' and the lots'.

export interface InvariantViolation {
  orgId: bigint;
  invariant:
    | 'balances_sum_to_zero'
    | 'balance_equals_transfers'
    | 'no_overdraft'
    | 'transfer_accounts_exist'
    | ReservationInvariant
    | LotInvariant;
  accountId: bigint | null;
  detail: string;
}

/**
 * Recomputes the ledger's invariants from the transfers: each organisation's balances sum to zero,
 * each stored balance equals its transfers, and no account is below zero outside the rules
 * (treasury always may be; a wallet only by metered usage, which the overdraft check allows).
 */
export async function findInvariantViolations(orm: Orm, orgId?: bigint): Promise<InvariantViolation[]> {
  const orgFilter = orgId === undefined ? sql`true` : sql`a.org_id = ${orgId.toString()}::bigint`;
  const sumRows = await queryRows<{ org_id: string; total: string }>(
    orm,
    sql`select a.org_id, sum(a.balance)::text as total from accounts a where ${orgFilter}
        group by a.org_id having sum(a.balance) <> 0`,
  );
  const driftRows = await queryRows<{ org_id: string; id: string; balance: string; computed: string }>(
    orm,
    sql`with moves as (
          select org_id, credit_account_id as account_id, amount as delta from transfers
          union all
          select org_id, debit_account_id, -amount from transfers
        ), computed as (
          select org_id, account_id, sum(delta) as total from moves group by org_id, account_id
        )
        select a.org_id, a.id, a.balance::text as balance, coalesce(c.total, 0)::text as computed
          from accounts a left join computed c on c.org_id = a.org_id and c.account_id = a.id
         where ${orgFilter} and a.balance <> coalesce(c.total, 0)`,
  );
  const overdraftRows = await queryRows<{ org_id: string; id: string; kind: string; balance: string }>(
    orm,
    sql`select a.org_id, a.id, a.kind, a.balance::text as balance from accounts a
         where ${orgFilter} and a.balance < 0 and a.kind not in ('treasury', 'wallet')`,
  );
  // Transfers have no foreign keys to accounts (see ledger.tables.ts): each one's accounts must be
  // accounts of its own organisation.
  const transferOrgFilter = orgId === undefined ? sql`true` : sql`t.org_id = ${orgId.toString()}::bigint`;
  const strayRows = await queryRows<{ org_id: string; id: string; debit: string; credit: string }>(
    orm,
    sql`select t.org_id, t.id, t.debit_account_id as debit, t.credit_account_id as credit from transfers t
         where ${transferOrgFilter}
           and (not exists (select 1 from accounts a where a.org_id = t.org_id and a.id = t.debit_account_id)
             or not exists (select 1 from accounts a where a.org_id = t.org_id and a.id = t.credit_account_id))`,
  );
  return [
    ...strayRows.map((row) => ({
      orgId: BigInt(row.org_id),
      invariant: 'transfer_accounts_exist' as const,
      accountId: null,
      detail: `transfer ${row.id} moves from account ${row.debit} to ${row.credit}, not both accounts of this organisation`,
    })),
    ...sumRows.map((row) => ({
      orgId: BigInt(row.org_id),
      invariant: 'balances_sum_to_zero' as const,
      accountId: null,
      detail: `balances sum to ${row.total}`,
    })),
    ...driftRows.map((row) => ({
      orgId: BigInt(row.org_id),
      invariant: 'balance_equals_transfers' as const,
      accountId: BigInt(row.id),
      detail: `stored balance ${row.balance}, transfers say ${row.computed}`,
    })),
    ...overdraftRows.map((row) => ({
      orgId: BigInt(row.org_id),
      invariant: 'no_overdraft' as const,
      accountId: BigInt(row.id),
      detail: `${row.kind} account at ${row.balance}`,
    })),
    ...(await findReservationViolations(orm, orgId)),
    ...(await findLotViolations(orm, orgId)),
  ];
}

/** The invariants of reservations (pending transfers; migrations/0005_reservations.sql). */
export type ReservationInvariant =
  | 'held_equals_open_reservations'
  | 'available_below_zero_only_by_usage'
  | 'settled_has_usage_event';

/**
 * The reservation invariants, recomputed: each account's `held` is the sum of its open reservations; a
 * wallet whose available is below zero got there by usage (its last debit is a `usage` transfer: every
 * other debit and every reservation is refused when it would take the available below zero); each
 * settled reservation names a stored usage event. That a reservation resolves at most once is held by
 * the trigger of migration 0005 (no resolved row can change again).
 */
async function findReservationViolations(orm: Orm, orgId?: bigint): Promise<InvariantViolation[]> {
  const orgFilter = orgId === undefined ? sql`true` : sql`a.org_id = ${orgId.toString()}::bigint`;
  const heldRows = await queryRows<{ org_id: string; id: string; held: string; open: string }>(
    orm,
    sql`select a.org_id, a.id, a.held::text, coalesce(r.total, 0)::text as open
          from accounts a
          left join (select org_id, account_id, sum(amount) as total from reservations where state = 'held'
                      group by org_id, account_id) r on r.org_id = a.org_id and r.account_id = a.id
         where ${orgFilter} and a.held <> coalesce(r.total, 0)`,
  );
  const availableRows = await queryRows<{ org_id: string; id: string; available: string; code: string | null }>(
    orm,
    sql`select a.org_id, a.id, (a.balance - a.held)::text as available, last.code
          from accounts a
          left join lateral (select t.code from transfers t
                              where t.org_id = a.org_id and t.debit_account_id = a.id
                              order by t.id desc limit 1) last on true
         where ${orgFilter} and a.kind = 'wallet' and a.balance - a.held < 0
           and last.code is distinct from 'usage'`,
  );
  const settledRows = await queryRows<{ org_id: string; id: string; event: string | null }>(
    orm,
    sql`select r.org_id, r.id, r.usage_event_id as event from reservations r
         where ${orgId === undefined ? sql`true` : sql`r.org_id = ${orgId.toString()}::bigint`}
           and r.state = 'settled'
           and not exists (select 1 from usage_events e where e.org_id = r.org_id and e.event_id = r.usage_event_id)`,
  );
  return [
    ...heldRows.map((row) => ({
      orgId: BigInt(row.org_id),
      invariant: 'held_equals_open_reservations' as const,
      accountId: BigInt(row.id),
      detail: `held ${row.held}, open reservations say ${row.open}`,
    })),
    ...availableRows.map((row) => ({
      orgId: BigInt(row.org_id),
      invariant: 'available_below_zero_only_by_usage' as const,
      accountId: BigInt(row.id),
      detail: `available ${row.available}, last debit ${row.code ?? 'none'}`,
    })),
    ...settledRows.map((row) => ({
      orgId: BigInt(row.org_id),
      invariant: 'settled_has_usage_event' as const,
      accountId: null,
      detail: `reservation ${row.id} is settled by usage event ${row.event ?? '(none)'}, which is not stored`,
    })),
  ];
}

/** The invariants of lots (issue 16; migrations/0011_lots.sql). */
export type LotInvariant = 'lot_remaining_equals_draws' | 'lots_sum_to_balance' | 'draw_from_own_account';

/**
 * The lot invariants, recomputed: each lot's remains are its amount minus its draws (and within 0 and
 * its amount, by CHECK); the remains of a wallet's or budget's lots add up to its balance when the
 * balance is not below zero, and to 0 when it is; each draw is by a transfer that debits the lot's
 * account, or by the credit that made the lot (paying a debt).
 */
async function findLotViolations(orm: Orm, orgId?: bigint): Promise<InvariantViolation[]> {
  const lotFilter = orgId === undefined ? sql`true` : sql`l.org_id = ${orgId.toString()}::bigint`;
  const accountFilter = orgId === undefined ? sql`true` : sql`a.org_id = ${orgId.toString()}::bigint`;
  const remainingRows = await queryRows<{
    org_id: string;
    id: string;
    account: string;
    remaining: string;
    computed: string;
  }>(
    orm,
    sql`select l.org_id, l.id, l.account_id as account, l.remaining::text as remaining,
               (l.amount - coalesce(d.total, 0))::text as computed
          from lots l
          left join (select org_id, lot_id, sum(amount) as total from lot_draws group by org_id, lot_id) d
            on d.org_id = l.org_id and d.lot_id = l.id
         where ${lotFilter} and l.remaining <> l.amount - coalesce(d.total, 0)`,
  );
  const sumRows = await queryRows<{ org_id: string; id: string; balance: string; lots: string }>(
    orm,
    sql`select a.org_id, a.id, a.balance::text as balance, coalesce(s.total, 0)::text as lots
          from accounts a
          left join (select org_id, account_id, sum(remaining) as total from lots group by org_id, account_id) s
            on s.org_id = a.org_id and s.account_id = a.id
         where ${accountFilter} and a.kind in ('wallet', 'budget')
           and coalesce(s.total, 0) <> greatest(a.balance, 0)`,
  );
  const strayRows = await queryRows<{ org_id: string; lot: string; transfer: string }>(
    orm,
    sql`select d.org_id, d.lot_id as lot, d.transfer_id as transfer
          from lot_draws d
          join lots l on l.org_id = d.org_id and l.id = d.lot_id
          left join transfers t on t.org_id = d.org_id and t.id = d.transfer_id
         where ${lotFilter}
           and t.id is distinct from l.transfer_id
           and t.debit_account_id is distinct from l.account_id`,
  );
  return [
    ...remainingRows.map((row) => ({
      orgId: BigInt(row.org_id),
      invariant: 'lot_remaining_equals_draws' as const,
      accountId: BigInt(row.account),
      detail: `lot ${row.id} says ${row.remaining} remain, its draws say ${row.computed}`,
    })),
    ...sumRows.map((row) => ({
      orgId: BigInt(row.org_id),
      invariant: 'lots_sum_to_balance' as const,
      accountId: BigInt(row.id),
      detail: `balance ${row.balance}, the remains of its lots add up to ${row.lots}`,
    })),
    ...strayRows.map((row) => ({
      orgId: BigInt(row.org_id),
      invariant: 'draw_from_own_account' as const,
      accountId: null,
      detail: `transfer ${row.transfer} draws lot ${row.lot} but does not debit its account`,
    })),
  ];
}
