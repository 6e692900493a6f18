import { sql } from 'drizzle-orm';
import { bigint, check, index, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/** What a member is told about one lot: 7 days before it expires, the day before, and once it has expired. */
export const expiryNoticeKinds = ['expiry_7d', 'expiry_1d', 'expired'] as const;
export type ExpiryNoticeKind = (typeof expiryNoticeKinds)[number];

/**
 * One row per lot and kind of notice: the stored key that makes each reminder go out once across
 * replicas and restarts. A replica claims the key (the first insert wins; a claim whose lease ran out
 * unfinished, its replica having died mid-send, may be taken over), sends, then finishes it.
 */
export const expiryNotices = pgTable(
  'expiry_notices',
  {
    orgId: bigint({ mode: 'bigint' }).notNull(),
    lotId: bigint({ mode: 'bigint' }).notNull(),
    kind: text({ enum: expiryNoticeKinds }).notNull(),
    memberId: bigint({ mode: 'bigint' }).notNull(),
    claimedBy: text().notNull(),
    claimedAt: timestamp({ withTimezone: true }).notNull(),
    /** A claim not finished by then may be taken over. */
    leaseUntil: timestamp({ withTimezone: true }).notNull(),
    finishedAt: timestamp({ withTimezone: true }),
    /** `sent`, or why not (`unreachable`, `no_identity`, `failed: …`). */
    outcome: text(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.lotId, t.kind] }),
    index('expiry_notices_member_idx').on(t.orgId, t.memberId),
    check('expiry_notices_lease', sql`${t.leaseUntil} >= ${t.claimedAt}`),
  ],
);
