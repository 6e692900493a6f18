import { bigint, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { organisations } from '../members/members.tables';

/**
 * Deliveries from a chat platform that must have at most one effect (a Slack event id, a Teams
 * activity id). Kept in the database, not in memory, so a retry reaching another replica or a
 * restarted process is still recognised.
 */
export const inboundDeliveries = pgTable(
  'inbound_deliveries',
  {
    orgId: bigint({ mode: 'bigint' })
      .notNull()
      .references(() => organisations.id),
    idempotencyKey: text('source_key').notNull(),
    receivedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.idempotencyKey] })],
);
