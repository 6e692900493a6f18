import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, pgTable, primaryKey, timestamp } from 'drizzle-orm/pg-core';

/**
 * A lot: the tokens one credit put into a wallet or a budget (a grant, a top-up, an allowance, a budget
 * issue, a reversal credited back), with their expiry. Debits draw from the account's lots in the
 * burn-down order (soonest expiry first, then lots with none; ties by the oldest lot), and each draw is
 * a row of `lot_draws`, so what remains of every lot is derivable from the ledger (`allot audit` checks
 * it). `remaining` is kept in the same transaction as each draw, as `accounts.balance` is kept beside
 * its transfers. Every change to a lot happens with its account's row locked.
 */
export const lots = pgTable(
  'lots',
  {
    orgId: bigint({ mode: 'bigint' }).notNull(),
    id: bigint({ mode: 'bigint' }).notNull().generatedAlwaysAsIdentity(),
    /** The wallet or budget the lot is in. */
    accountId: bigint({ mode: 'bigint' }).notNull(),
    /** The member who owns that account. */
    memberId: bigint({ mode: 'bigint' }).notNull(),
    /** The transfer that credited the lot; NULL for an opening lot (a balance from before lots existed). */
    transferId: bigint({ mode: 'bigint' }),
    amount: bigint({ mode: 'bigint' }).notNull(),
    /** `amount` minus the lot's draws. */
    remaining: bigint({ mode: 'bigint' }).notNull(),
    /**
     * `remaining > 0`, stored: the predicate of the live and due indexes. It changes only when a draw
     * uses a lot up, so an ordinary draw, which lowers `remaining` alone, changes no indexed column and
     * is a heap-only update (migration 0016, which also gives the table fillfactor 80, for room on the
     * page; drizzle has no table option for it). Queries for live lots say `live`, not
     * `remaining > 0`, so the planner matches the indexes' predicate.
     */
    live: boolean().generatedAlwaysAs(sql`remaining > 0`),
    /**
     * When what remains expires (to the `expired` account); NULL: never. A date people typed is the end
     * of that day in the member's time zone; an allowance's is the end of its period.
     */
    expiresAt: timestamp({ withTimezone: true }),
    /**
     * Allowance lots: at `expiresAt`, up to this many of the remaining tokens roll over (and then never
     * expire), the rest expires; NULL on every other lot (everything remaining expires).
     */
    rolloverTokens: bigint({ mode: 'bigint' }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    // The burn-down order of an account's live lots.
    index('lots_live_idx').on(t.orgId, t.accountId, sql`${t.expiresAt} ASC NULLS LAST`, t.id).where(sql`${t.live}`),
    // The expiry sweeper's queue.
    index('lots_due_idx').on(t.expiresAt).where(sql`${t.live} AND ${t.expiresAt} IS NOT NULL`),
    index('lots_transfer_idx').on(t.orgId, t.transferId),
    check('lots_amount', sql`${t.amount} BETWEEN 0 AND 1000000000000`),
    check('lots_remaining', sql`${t.remaining} BETWEEN 0 AND ${t.amount}`),
    check('lots_rollover', sql`${t.rolloverTokens} IS NULL OR ${t.rolloverTokens} >= 0`),
  ],
);

/**
 * Which lot a transfer drew from, and how much: append-only, like transfers. A debit of a wallet or
 * budget draws its lots in the burn-down order (the part beyond every lot, usage that overdraws a
 * wallet, draws nothing); a credit into an overdrawn wallet draws its own new lot by the debt it pays.
 */
export const lotDraws = pgTable(
  'lot_draws',
  {
    orgId: bigint({ mode: 'bigint' }).notNull(),
    transferId: bigint({ mode: 'bigint' }).notNull(),
    lotId: bigint({ mode: 'bigint' }).notNull(),
    amount: bigint({ mode: 'bigint' }).notNull(),
  },
  (t) => [
    // Read by transfer (its key). No index by lot: nothing looks up one lot's draws; the audit sums
    // them for every lot at once (migration 0016 dropped lot_draws_lot_idx, a write per draw).
    primaryKey({ columns: [t.orgId, t.transferId, t.lotId] }),
    check('lot_draws_amount', sql`${t.amount} BETWEEN 1 AND 1000000000000`),
  ],
);
