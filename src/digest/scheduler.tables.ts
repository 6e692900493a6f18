import { bigint, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * One row per scheduled run (a digest for one period and destination, an allowance sweep, …). The
 * unique run key is what makes replicas firing together run a job once: the first insert wins.
 */
export const scheduledRuns = pgTable('scheduled_runs', {
  /**
   * Names the job and the local occurrence (see idempotencyKeyOfRun in occurrences.models.ts): the instant for a
   * local time shown once ("digest:12:3:2026-11-30T08:00:00.000Z"), the local time and zone for one
   * skipped or repeated by a daylight-saving change ("digest:12:3:2026-03-08T02:30[America/New_York]").
   */
  idempotencyKey: text('run_key').primaryKey(),
  orgId: bigint({ mode: 'bigint' }),
  claimedBy: text().notNull(),
  claimedAt: timestamp({ withTimezone: true }).notNull(),
  /** A claim not finished by then may be taken over (the claimer died mid-run). */
  leaseUntil: timestamp({ withTimezone: true }).notNull(),
  finishedAt: timestamp({ withTimezone: true }),
  outcome: text(),
});
