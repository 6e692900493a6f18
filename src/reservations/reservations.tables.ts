import { sql } from 'drizzle-orm';
import { bigint, check, index, pgTable, primaryKey, text, timestamp, unique } from 'drizzle-orm/pg-core';

/**
 * The states of a reservation, TigerBeetle's pending transfer: `held` until it is resolved exactly
 * once, by `settled` (post: the actual usage was debited), `released` (void: nothing was spent) or
 * `expired` (void at its deadline, by the sweeper).
 */
export const reservationStates = ['held', 'settled', 'released', 'expired'] as const;
export type ReservationState = (typeof reservationStates)[number];

/** Longest a reservation may be held before the sweeper releases it: 1 hour (default 300 s). */
export const reservationTimeoutSecondsMax = 3_600;
export const reservationTimeoutSecondsDefault = 300;

/**
 * Reservations (pending transfers): tokens held on a member's wallet while an AI call runs. The hold is
 * `accounts.held`; this row is its record. Unlike transfers a reservation changes state, once: the
 * conditional update `WHERE state = 'held'` in allot_resolve_reservation is the only writer of a
 * resolved state, and a trigger refuses any other change (LEDGER.md I10 for requests, the same rule).
 */
export const reservations = pgTable(
  'reservations',
  {
    // No foreign key to organisations (as on transfers): the only writer, allot_reserve, finds the
    // member in the organisation first, organisations are never deleted, and a key check would
    // share-lock the organisation's row in every reservation, which concurrent reservations then
    // contend on (bench/README.md, "Reservations").
    orgId: bigint({ mode: 'bigint' }).notNull(),
    id: bigint({ mode: 'bigint' }).notNull().generatedAlwaysAsIdentity(),
    /** The gateway's id for the reservation (its idempotency key), unique per organisation. */
    idempotencyKey: text().notNull(),
    /** Hash of the reservation's body: the same id with another body is a conflict. */
    requestHash: text().notNull(),
    memberId: bigint({ mode: 'bigint' }).notNull(),
    /** The user as the gateway named them, normalised (`ana@acme.com`, `slack:U…`): the settle's usage event names them so. */
    userRef: text().notNull(),
    /** The member's wallet, whose `held` carries this reservation while it is open. */
    accountId: bigint({ mode: 'bigint' }).notNull(),
    amount: bigint({ mode: 'bigint' }).notNull(),
    model: text(),
    state: text({ enum: reservationStates }).notNull().default('held'),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull(),
    resolvedAt: timestamp({ withTimezone: true }),
    /** The wallet's available right after the hold: what a repeat of the same call answers. */
    availableAfter: bigint({ mode: 'bigint' }).notNull(),
    /** The usage event that settled it (its id), when it was settled. */
    usageEventId: text(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    unique('reservations_org_key').on(t.orgId, t.idempotencyKey),
    // The sweeper's read: open reservations by deadline; resolved ones cost this index nothing.
    index('reservations_open_expiry_idx').on(t.expiresAt).where(sql`${t.state} = 'held'`),
    index('reservations_org_account_open_idx').on(t.orgId, t.accountId).where(sql`${t.state} = 'held'`),
    check('reservations_amount_range', sql`${t.amount} BETWEEN 1 AND 1000000000000`),
    check('reservations_state', sql`${t.state} IN ('held', 'settled', 'released', 'expired')`),
    check('reservations_resolved', sql`(${t.state} = 'held') = (${t.resolvedAt} IS NULL)`),
    check('reservations_key_length', sql`length(${t.idempotencyKey}) BETWEEN 1 AND 255`),
  ],
);
