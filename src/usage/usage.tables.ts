import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  date,
  foreignKey,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { members, organisations } from '../members/members.tables';

// Every tenant table carries the organisation id first in its keys (DESIGN.md), so the usage tables can
// later be distributed by organisation together with the ledger.

/**
 * One metered AI call, as reported by a gateway, a script or a CSV. The event keeps its own time
 * (`event_at`, LEDGER.md I13) apart from when Allot recorded it, and the price and weight in force at
 * that time, so history never changes when prices do.
 */
// usage_events and usage_daily_rollups carry no foreign keys: a foreign key costs one locking lookup
// per written row (measured: most of a batch's time), and allot_ingest_usage only writes member and
// wallet ids it has just read and locked, in the same transaction, from accounts (members are never
// deleted).
export const usageEvents = pgTable(
  'usage_events',
  {
    orgId: bigint({ mode: 'bigint' }).notNull(),
    /** The sender's id for the event, unique per organisation; the idempotency key of its debit. */
    eventId: text().notNull(),
    memberId: bigint({ mode: 'bigint' }).notNull(),
    model: text().notNull(),
    category: text().notNull(),
    inputTokens: bigint({ mode: 'bigint' }).notNull(),
    outputTokens: bigint({ mode: 'bigint' }).notNull(),
    /** When the usage happened, as the sender says. */
    eventAt: timestamp({ withTimezone: true }).notNull(),
    /** When Allot stored it. */
    recordedAt: timestamp({ withTimezone: true }).notNull(),
    /** Money at the price in force at `event_at`, in micro-units (1e-6 of the currency). */
    costMicros: bigint({ mode: 'bigint' }).notNull(),
    /** Value-weighted tokens: tokens × the category's weight, rounded to a whole token. */
    value: bigint({ mode: 'bigint' }).notNull(),
    /** Hash of the event's content: the same id with another content is a conflict. */
    contentHash: text().notNull(),
    /**
     * Hash of the event as sent (its JSON text), so an exact replay is recognised without validating
     * it again; null when the event could not be written as JSON.
     */
    rawHash: text(),
    /** The `usage` transfer that debited the member's wallet. */
    transferId: bigint({ mode: 'bigint' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.eventId] }),
    check('usage_events_id_length', sql`length(${t.eventId}) BETWEEN 1 AND 255`),
    check('usage_events_tokens', sql`${t.inputTokens} >= 0 AND ${t.outputTokens} >= 0`),
    check('usage_events_cost', sql`${t.costMicros} >= 0 AND ${t.value} >= 0`),
  ],
);

/**
 * Batches accepted whole: the digest of a request's events as sent (the hash of their raw hashes, in
 * order), written in the transaction that stored them, and only when every event of the batch was
 * accepted or a duplicate. A client that resends the same request after a timeout (the usual source
 * of duplicates) is answered "all duplicate" from this one row, without reading its events again.
 * Rows are never deleted while their events are kept.
 */
export const usageBatches = pgTable(
  'usage_batches',
  {
    orgId: bigint({ mode: 'bigint' })
      .notNull()
      .references(() => organisations.id),
    digest: text().notNull(),
    events: integer().notNull(),
    recordedAt: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.digest] })],
);

/** The sums every usage rollup keeps (a member's day, an organisation's day), one set of columns. */
export function usageSumColumns() {
  return {
    events: bigint({ mode: 'bigint' }).notNull(),
    inputTokens: bigint({ mode: 'bigint' }).notNull(),
    outputTokens: bigint({ mode: 'bigint' }).notNull(),
    tokens: bigint({ mode: 'bigint' }).notNull(),
    value: bigint({ mode: 'bigint' }).notNull(),
    costMicros: bigint({ mode: 'bigint' }).notNull(),
  };
}

/**
 * Daily totals per member, model and category, updated in the same transaction as the events. The
 * day is the organisation's local day. `/balance` reads one member's rows for the period; a week's
 * totals per member are summed from these rows at read time (`usage_daily_rollups_org_day_idx`).
 */
export const usageDailyRollups = pgTable(
  'usage_daily_rollups',
  {
    orgId: bigint({ mode: 'bigint' }).notNull(),
    memberId: bigint({ mode: 'bigint' }).notNull(),
    day: date({ mode: 'string' }).notNull(),
    model: text().notNull(),
    category: text().notNull(),
    ...usageSumColumns(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.memberId, t.day, t.model, t.category] }),
    // A week of the whole organisation by day. Only key columns: adding to a row changes none of
    // them, so most rollup writes stay heap-only updates.
    index('usage_daily_rollups_org_day_idx').on(t.orgId, t.day, t.memberId),
  ],
);

export const leaderboardWindows = ['week', 'month', 'quarter'] as const;
export type LeaderboardWindow = (typeof leaderboardWindows)[number];

/** The one period kept as a total: weeks are summed from the daily rollups, quarters from three months. */
export const storedPeriods = ['month'] as const;

/**
 * Totals per member for each month (local to the organisation), kept beside the daily rollups so a
 * month's or a quarter's leaderboard reads one or three rows per member instead of summing ninety
 * days. Only months are stored (`period` = 'month'): a week is summed from the daily rollups at read
 * time, a quarter from its three months, which saves two of every three writes of ingestion
 * (bench/README.md, "Usage").
 */
export const usagePeriodTotals = pgTable(
  'usage_period_totals',
  {
    orgId: bigint({ mode: 'bigint' }).notNull(),
    period: text({ enum: storedPeriods }).notNull(),
    periodStart: date({ mode: 'string' }).notNull(),
    memberId: bigint({ mode: 'bigint' }).notNull(),
    events: bigint({ mode: 'bigint' }).notNull(),
    tokens: bigint({ mode: 'bigint' }).notNull(),
    value: bigint({ mode: 'bigint' }).notNull(),
    costMicros: bigint({ mode: 'bigint' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.period, t.periodStart, t.memberId] }),
    check('usage_period_totals_period', sql`${t.period} = 'month'`),
  ],
);

/**
 * Dated prices per model in micro-units of money per million tokens. A price applies from its
 * `effective_from` until the next one; an event is priced with the one in force at its time.
 */
export const modelPrices = pgTable(
  'model_prices',
  {
    orgId: bigint({ mode: 'bigint' })
      .notNull()
      .references(() => organisations.id),
    model: text().notNull(),
    effectiveFrom: timestamp({ withTimezone: true }).notNull(),
    inputMicrosPerMillion: bigint({ mode: 'bigint' }).notNull(),
    outputMicrosPerMillion: bigint({ mode: 'bigint' }).notNull(),
    createdByMemberId: bigint({ mode: 'bigint' }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.model, t.effectiveFrom] }),
    check(
      'model_prices_range',
      sql`${t.inputMicrosPerMillion} BETWEEN 0 AND 1000000000000 AND ${t.outputMicrosPerMillion} BETWEEN 0 AND 1000000000000`,
    ),
  ],
);

/**
 * Common models' list prices, used when an organisation has set no price of its own for a model at
 * an event's time. Filled by a migration; admins override them per organisation with `price set`.
 */
export const modelPriceSeeds = pgTable(
  'model_price_seeds',
  {
    model: text().notNull(),
    effectiveFrom: timestamp({ withTimezone: true }).notNull(),
    inputMicrosPerMillion: bigint({ mode: 'bigint' }).notNull(),
    outputMicrosPerMillion: bigint({ mode: 'bigint' }).notNull(),
    /** Where and when the figure was taken. */
    source: text().notNull(),
  },
  (t) => [primaryKey({ columns: [t.model, t.effectiveFrom] })],
);

/** Value weight per task category, in thousandths (1 = 1000); a category without a row weighs 1. */
export const categoryWeights = pgTable(
  'category_weights',
  {
    orgId: bigint({ mode: 'bigint' })
      .notNull()
      .references(() => organisations.id),
    category: text().notNull(),
    weightThousandths: integer().notNull(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.category] }),
    check('category_weights_range', sql`${t.weightThousandths} BETWEEN 0 AND 1000000`),
  ],
);

/**
 * The category an admin gives the usage of each GenAI operation (`gen_ai.operation.name`: chat,
 * embeddings, execute_tool, …) arriving on POST /v1/traces without an `allot.category` of its own.
 * An operation without a row counts under the default category.
 */
export const operationCategories = pgTable(
  'operation_categories',
  {
    orgId: bigint({ mode: 'bigint' })
      .notNull()
      .references(() => organisations.id),
    operation: text().notNull(),
    category: text().notNull(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.operation] })],
);

/**
 * Bearer keys for POST /v1/usage. Only the SHA-256 of the key is stored; the key itself is shown
 * once. A key has 256 random bits, so a fast hash is enough (nothing to brute-force).
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    orgId: bigint({ mode: 'bigint' })
      .notNull()
      .references(() => organisations.id),
    id: bigint({ mode: 'bigint' }).notNull().generatedAlwaysAsIdentity(),
    name: text().notNull(),
    /** Hex SHA-256 of the whole key; globally unique so a request finds its organisation by it. */
    keyHash: text().notNull(),
    /** The first characters of the key (e.g. `allot_Xy3k`), shown in lists to tell keys apart. */
    keyPrefix: text().notNull(),
    createdByMemberId: bigint({ mode: 'bigint' }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('api_keys_hash_key').on(t.keyHash),
    uniqueIndex('api_keys_org_live_name_key').on(t.orgId, t.name).where(sql`${t.revokedAt} IS NULL`),
  ],
);

/** Per-organisation leaderboard privacy; no row means the defaults. */
export const leaderboardSettings = pgTable(
  'leaderboard_settings',
  {
    orgId: bigint({ mode: 'bigint' })
      .primaryKey()
      .references(() => organisations.id),
    enabled: boolean().notNull().default(true),
    hideMoney: boolean().notNull().default(false),
    topN: integer().notNull().default(10),
    defaultWindow: text({ enum: leaderboardWindows }).notNull().default('week'),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('leaderboard_settings_top_n', sql`${t.topN} BETWEEN 1 AND 50`),
    check('leaderboard_settings_window', sql`${t.defaultWindow} IN ('week', 'month', 'quarter')`),
  ],
);

/** Low-balance alerts already sent: one row per member, period and threshold, so each fires once. */
export const lowBalanceAlerts = pgTable(
  'low_balance_alerts',
  {
    orgId: bigint({ mode: 'bigint' }).notNull(),
    memberId: bigint({ mode: 'bigint' }).notNull(),
    /** The organisation-local month, e.g. `2026-11`. */
    period: text().notNull(),
    /** `left_20` (20 % left), `left_5`, … or `overage`. */
    threshold: text().notNull(),
    balance: bigint({ mode: 'bigint' }).notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.memberId, t.period, t.threshold] }),
    foreignKey({ columns: [t.orgId, t.memberId], foreignColumns: [members.orgId, members.id] }),
  ],
);
