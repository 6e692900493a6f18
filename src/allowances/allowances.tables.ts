import { sql } from 'drizzle-orm';
import { bigint, check, date, index, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { organisations } from '../members/members.tables';

export const allowancePeriods = ['weekly', 'monthly'] as const;
export type AllowancePeriod = (typeof allowancePeriods)[number];

/**
 * A recurring base allowance: for everyone with a role, or for one member (which then replaces the
 * role's rule for them). Issued from the treasury at the start of each period in the member's zone.
 */
export const allowanceRules = pgTable(
  'allowance_rules',
  {
    orgId: bigint({ mode: 'bigint' })
      .notNull()
      .references(() => organisations.id),
    id: bigint({ mode: 'bigint' }).notNull().generatedAlwaysAsIdentity(),
    /** Exactly one of role and memberId is set. */
    role: text({ enum: ['admin', 'manager', 'member'] }),
    memberId: bigint({ mode: 'bigint' }),
    amount: bigint({ mode: 'bigint' }).notNull(),
    period: text({ enum: allowancePeriods }).notNull(),
    /**
     * Most unused allowance carried into the next period; the rest of the unused allowance moves to
     * `expired`. NULL carries everything over.
     */
    rolloverCapTokens: bigint({ mode: 'bigint' }),
    /** Each period's tokens expire this many days after the period starts (end of that local day), instead of rolling over. */
    expiresAfterDays: integer(),
    /**
     * The last local day of the rule: no period starting after it is issued, and every token it issued
     * expires at the end of that day (in each member's zone) at the latest.
     */
    endsOn: date({ mode: 'string' }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    removedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index().on(t.orgId, t.memberId),
    check('allowance_rules_target', sql`(${t.role} IS NULL) <> (${t.memberId} IS NULL)`),
    check('allowance_rules_amount', sql`${t.amount} BETWEEN 1 AND 1000000000000`),
    check('allowance_rules_cap', sql`${t.rolloverCapTokens} IS NULL OR ${t.rolloverCapTokens} >= 0`),
    check(
      'allowance_rules_expiry',
      sql`(${t.expiresAfterDays} IS NULL OR (${t.expiresAfterDays} BETWEEN 1 AND 1830 AND ${t.endsOn} IS NULL))`,
    ),
  ],
);
