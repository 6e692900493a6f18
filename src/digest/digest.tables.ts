import { bigint, boolean, integer, jsonb, pgTable, primaryKey, text, timestamp, unique } from 'drizzle-orm/pg-core';
import { organisations } from '../members/members.tables';

/** Where and when an organisation's weekly digest is posted. */
export const digestSchedules = pgTable(
  'digest_schedules',
  {
    orgId: bigint({ mode: 'bigint' })
      .notNull()
      .references(() => organisations.id),
    id: bigint({ mode: 'bigint' }).notNull().generatedAlwaysAsIdentity(),
    platform: text({ enum: ['slack', 'teams'] }).notNull(),
    /** Slack: { channelId }; Teams: { conversationId } of a stored conversation reference. */
    destination: jsonb().$type<Record<string, string>>().notNull(),
    /** "slack:C123" or "teams:19:…@thread.tacv2": one schedule per destination. */
    destinationKey: text().notNull(),
    cron: text().notNull(),
    timeZone: text().notNull(),
    enabled: boolean().notNull().default(true),
    createdBy: bigint({ mode: 'bigint' }),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    /** Consecutive failed deliveries; reset by a successful one. */
    failuresInRow: integer().notNull().default(0),
    lastFailure: text(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    unique('digest_schedules_destination_key').on(t.orgId, t.destinationKey),
  ],
);

/** One row per digest posted (or given up on) for one period and destination. */
export const digestDeliveries = pgTable(
  'digest_deliveries',
  {
    orgId: bigint({ mode: 'bigint' })
      .notNull()
      .references(() => organisations.id),
    idempotencyKey: text('run_key').notNull(),
    scheduleId: bigint({ mode: 'bigint' }).notNull(),
    status: text({ enum: ['sent', 'failed'] }).notNull(),
    attempts: integer().notNull(),
    location: jsonb().$type<Record<string, string>>(),
    detail: text(),
    at: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.idempotencyKey] })],
);
