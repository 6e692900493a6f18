import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  foreignKey,
  index,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { members } from '../members/members.tables';

// Sign-in to the web dashboard without another identity provider: chat (or the CLI) hands a member a
// one-time link; opening it starts a session. Only SHA-256 hashes of the link and session tokens are
// stored (the tokens themselves are 256 random bits, so a fast hash is enough, as for API keys): a copy
// of the database signs nobody in. Both tables carry the organisation id first in their keys.

/** Where a link was asked for. */
export const signInChannels = ['slack', 'teams', 'cli'] as const;
export type SignInChannel = (typeof signInChannels)[number];

/** One-time sign-in links: valid for a short while, used at most once, bound to one member. */
export const signInLinks = pgTable(
  'sign_in_links',
  {
    orgId: bigint({ mode: 'bigint' }).notNull(),
    id: bigint({ mode: 'bigint' }).notNull().generatedAlwaysAsIdentity(),
    /** Hex SHA-256 of the token in the link; globally unique, so the link finds its organisation. */
    tokenHash: text().notNull(),
    memberId: bigint({ mode: 'bigint' }).notNull(),
    issuedVia: text({ enum: signInChannels }).notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    /** Set once, by the conditional update that redeems the link (`WHERE used_at IS NULL`). */
    usedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('sign_in_links_token_hash_key').on(t.tokenHash),
    index('sign_in_links_expires_idx').on(t.expiresAt),
    foreignKey({ columns: [t.orgId, t.memberId], foreignColumns: [members.orgId, members.id] }),
    check('sign_in_links_window', sql`${t.expiresAt} > ${t.createdAt}`),
  ],
);

/** Browser sessions of the dashboard, started by redeeming a link, ended by signing out or by time. */
export const dashboardSessions = pgTable(
  'dashboard_sessions',
  {
    orgId: bigint({ mode: 'bigint' }).notNull(),
    id: bigint({ mode: 'bigint' }).notNull().generatedAlwaysAsIdentity(),
    /** Hex SHA-256 of the session token held in the browser's cookie. */
    tokenHash: text().notNull(),
    memberId: bigint({ mode: 'bigint' }).notNull(),
    /** The synchronizer token every form of this session carries (OWASP CSRF cheat sheet). */
    csrfToken: text().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull(),
    /** Moved forward as the session is used (at most once a minute); idle expiry counts from it. */
    lastSeenAt: timestamp({ withTimezone: true }).notNull(),
    /** The latest a session may live however busy it is. */
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    endedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('dashboard_sessions_token_hash_key').on(t.tokenHash),
    index('dashboard_sessions_expires_idx').on(t.expiresAt),
    foreignKey({ columns: [t.orgId, t.memberId], foreignColumns: [members.orgId, members.id] }),
  ],
);
