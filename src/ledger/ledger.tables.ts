import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  foreignKey,
  index,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  unique,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { members, organisations } from '../members/members.tables';

export const accountKinds = ['treasury', 'budget', 'wallet', 'usage', 'expired'] as const;
export type AccountKind = (typeof accountKinds)[number];

export const transferCodes = ['issue', 'allocate', 'grant', 'topup', 'usage', 'expire', 'reversal'] as const;
export type TransferCode = (typeof transferCodes)[number];

/**
 * An organisation's `usage` account is striped over this many rows (a striped counter): usage debits
 * credit the stripe of their wallet, so concurrent debits of different wallets do not all queue on
 * one row lock. Their balances add up to the organisation's usage.
 */
export const usageStripes = 16;

/** The most tokens one transfer may move (1e12); also the column CHECK. */
export const transferTokensMax = 1_000_000_000_000n;

export const accounts = pgTable(
  'accounts',
  {
    orgId: bigint({ mode: 'bigint' })
      .notNull()
      .references(() => organisations.id),
    id: bigint({ mode: 'bigint' }).notNull().generatedAlwaysAsIdentity(),
    kind: text({ enum: accountKinds }).notNull(),
    /** The member a budget or wallet belongs to; NULL for the organisation's own accounts. */
    memberId: bigint({ mode: 'bigint' }),
    /** Credits minus debits, changed in the same transaction as each transfer. */
    balance: bigint({ mode: 'bigint' }).notNull().default(sql`0`),
    /**
     * Tokens held by open reservations (pending transfers, TigerBeetle's `debits_pending`): wallets only.
     * What the member may still reserve or move is `balance - held` (their *available*).
     */
    held: bigint({ mode: 'bigint' }).notNull().default(sql`0`),
    /** Which stripe of the organisation's `usage` account this is (0 to usageStripes - 1); 0 for every other account. */
    stripe: smallint().notNull().default(0),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    unique('accounts_org_kind_member_key').on(t.orgId, t.kind, t.memberId, t.stripe).nullsNotDistinct(),
    foreignKey({ columns: [t.orgId, t.memberId], foreignColumns: [members.orgId, members.id] }),
    check('accounts_kind', sql`${t.kind} IN ('treasury', 'budget', 'wallet', 'usage', 'expired')`),
    check('accounts_owner', sql`(${t.kind} IN ('budget', 'wallet')) = (${t.memberId} IS NOT NULL)`),
    // Only the treasury issues tokens, and only a wallet may be overdrawn (by metered usage, checked
    // in allot_post); every other account can never be below zero.
    check('accounts_no_overdraft', sql`${t.kind} IN ('treasury', 'wallet') OR ${t.balance} >= 0`),
    check('accounts_stripe', sql`${t.stripe} = 0 OR (${t.kind} = 'usage' AND ${t.stripe} BETWEEN 1 AND 15)`),
    check('accounts_held', sql`${t.held} >= 0 AND (${t.kind} = 'wallet' OR ${t.held} = 0)`),
  ],
);

export const transfers = pgTable(
  'transfers',
  {
    // No foreign keys to organisations or accounts: the only writers, allot_post and
    // allot_ingest_usage, update both accounts by (org id, account id) in the same statement sequence
    // and post nothing when either is missing; accounts can never be deleted (a trigger refuses it);
    // and the audit names any transfer whose accounts are not its organisation's. A foreign key would
    // re-check each account per row and share-lock it again, after the transfer had already updated it
    // (about 10% of a transfer's cost; bench/README.md, "Ledger").
    orgId: bigint({ mode: 'bigint' }).notNull(),
    id: bigint({ mode: 'bigint' }).notNull().generatedAlwaysAsIdentity(),
    /** The idempotency key of the operation (Slack trigger id, Teams activity id, usage event id, …). */
    idempotencyKey: text('operation_key').notNull(),
    /** Position of this transfer within its operation (a grant to three people has legs 1 to 3). */
    leg: smallint().notNull(),
    /** Hash of the operation's body: the same key with another body is a conflict. */
    requestHash: text().notNull(),
    debitAccountId: bigint({ mode: 'bigint' }).notNull(),
    creditAccountId: bigint({ mode: 'bigint' }).notNull(),
    amount: bigint({ mode: 'bigint' }).notNull(),
    code: text({ enum: transferCodes }).notNull(),
    actorMemberId: bigint({ mode: 'bigint' }),
    /** Where the operation came from: slack, teams, cli, api, system. */
    platform: text().notNull(),
    memo: text().notNull().default(''),
    /** For a reversal, the transfer it undoes; unique, so a transfer is reversed at most once. */
    reversesTransferId: bigint({ mode: 'bigint' }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    unique('transfers_org_operation_leg_key').on(t.orgId, t.idempotencyKey, t.leg),
    // Partial: only reversals are indexed, so ordinary transfers pay nothing for it.
    uniqueIndex('transfers_org_reverses_key')
      .on(t.orgId, t.reversesTransferId)
      .where(sql`${t.reversesTransferId} IS NOT NULL`),
    index('transfers_org_debit_idx').on(t.orgId, t.debitAccountId, t.id),
    index('transfers_org_credit_idx').on(t.orgId, t.creditAccountId, t.id),
    // The ledger page filtered by a code (grants, top-ups, reversals…): partial, so the usage transfers,
    // nearly all of them and written by ingestion, pay nothing for it; a filter on `usage` reads the
    // primary key, where usage transfers are dense.
    index('transfers_org_code_idx').on(t.orgId, t.code, t.id).where(sql`${t.code} <> 'usage'`),
    // Transfers are appended in time order, so a BRIN index serves time windows (digests, exports)
    // at a fraction of a B-tree's cost per insert.
    index('transfers_created_brin').using('brin', t.createdAt),
    foreignKey({ columns: [t.orgId, t.reversesTransferId], foreignColumns: [t.orgId, t.id] }),
    check('transfers_amount_range', sql`${t.amount} BETWEEN 1 AND 1000000000000`),
    check('transfers_accounts_differ', sql`${t.debitAccountId} <> ${t.creditAccountId}`),
    check('transfers_code', sql`${t.code} IN ('issue', 'allocate', 'grant', 'topup', 'usage', 'expire', 'reversal')`),
    check('transfers_reversal_target', sql`(${t.code} = 'reversal') = (${t.reversesTransferId} IS NOT NULL)`),
    check('transfers_key_length', sql`length(${t.idempotencyKey}) BETWEEN 1 AND 255`),
  ],
);
