import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  foreignKey,
  index,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
} from 'drizzle-orm/pg-core';
import { members, organisations } from '../members/members.tables';

export const topUpRequestStates = ['pending', 'approved', 'denied', 'cancelled', 'expired'] as const;
export type TopUpRequestState = (typeof topUpRequestStates)[number];

/**
 * A member's request for more tokens. It is decided at most once: every change of state is a
 * conditional update `WHERE state = 'pending'`, and an approval posts its top-up in the same transaction.
 */
export const topUpRequests = pgTable(
  'topup_requests',
  {
    orgId: bigint({ mode: 'bigint' })
      .notNull()
      .references(() => organisations.id),
    id: bigint({ mode: 'bigint' }).notNull().generatedAlwaysAsIdentity(),
    requesterId: bigint({ mode: 'bigint' }).notNull(),
    amount: bigint({ mode: 'bigint' }).notNull(),
    reason: text().notNull().default(''),
    state: text({ enum: topUpRequestStates }).notNull().default('pending'),
    /** The requester's manager when the request was made; NULL means the admins decide. */
    approverId: bigint({ mode: 'bigint' }),
    /** Idempotency key from the source (Slack trigger id, Teams activity id): one request per key. */
    idempotencyKey: text('request_key').notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    decidedAt: timestamp({ withTimezone: true }),
    decidedById: bigint({ mode: 'bigint' }),
    /** The reason given with a denial. */
    decisionNote: text(),
    /** The top-up transfer of an approved request. */
    transferId: bigint({ mode: 'bigint' }),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    unique('topup_requests_org_key').on(t.orgId, t.idempotencyKey),
    index('topup_requests_org_state_expires_idx').on(t.orgId, t.state, t.expiresAt),
    index('topup_requests_org_requester_idx').on(t.orgId, t.requesterId, t.id),
    index('topup_requests_org_approver_idx').on(t.orgId, t.approverId, t.state),
    index('topup_requests_state_expires_idx').on(t.state, t.expiresAt),
    foreignKey({ columns: [t.orgId, t.requesterId], foreignColumns: [members.orgId, members.id] }),
    foreignKey({ columns: [t.orgId, t.approverId], foreignColumns: [members.orgId, members.id] }),
    check('topup_requests_amount_range', sql`${t.amount} BETWEEN 1 AND 1000000000000`),
    check('topup_requests_state', sql`${t.state} IN ('pending', 'approved', 'denied', 'cancelled', 'expired')`),
    check('topup_requests_decided', sql`(${t.state} = 'pending') = (${t.decidedAt} IS NULL)`),
  ],
);

/** Where an approval message was posted (Slack channel + ts, Teams activity), so a decision can edit it. */
export const approvalMessages = pgTable(
  'approval_messages',
  {
    orgId: bigint({ mode: 'bigint' }).notNull(),
    requestId: bigint({ mode: 'bigint' }).notNull(),
    memberId: bigint({ mode: 'bigint' }).notNull(),
    platform: text({ enum: ['slack', 'teams'] }).notNull(),
    ref: jsonb().$type<Record<string, string>>().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.requestId, t.memberId, t.platform] }),
    foreignKey({ columns: [t.orgId, t.requestId], foreignColumns: [topUpRequests.orgId, topUpRequests.id] }),
  ],
);
