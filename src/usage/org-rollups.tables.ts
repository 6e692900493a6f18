import { bigint, date, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { usageSumColumns } from './usage.tables';

/**
 * Daily usage of a whole organisation per model and category: the sums of `usage_daily_rollups` over
 * its members, kept by statement-level triggers on that table (`allot_org_rollups_*`, in the migration
 * that made this table), so they change in the same transaction as the member rows and whoever writes
 * those. The dashboard's charts read 30 or 90 days of these (a few thousand rows) instead of summing
 * every member's rows (about a million for 5,000 members over 90 days; bench/README.md, "Dashboard").
 * No foreign keys, like the rollups they sum.
 */
export const usageOrgDailyRollups = pgTable(
  'usage_org_daily_rollups',
  {
    orgId: bigint({ mode: 'bigint' }).notNull(),
    /** The organisation-local day, as in usage_daily_rollups. */
    day: date({ mode: 'string' }).notNull(),
    model: text().notNull(),
    category: text().notNull(),
    ...usageSumColumns(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.day, t.model, t.category] })],
);
