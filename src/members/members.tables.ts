import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

export const organisations = pgTable(
  'organisations',
  {
    id: bigint({ mode: 'bigint' }).primaryKey().generatedAlwaysAsIdentity(),
    /** Short unique name operators type in the CLI, e.g. "acme". */
    slug: text().notNull().unique(),
    name: text().notNull(),
    /** IANA zone used for periods when a member has none of their own. */
    timeZone: text().notNull().default('UTC'),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    /**
     * Days after which tokens of a grant, top-up or budget issue expire when it names no expiry of its own
     * (the end of the local day that many days on, in the recipient's zone); NULL: they never expire.
     */
    defaultExpiryDays: integer(),
  },
  (t) => [check('organisations_default_expiry', sql`${t.defaultExpiryDays} BETWEEN 1 AND 1830`)],
);

/** Maps a chat workspace (Slack team or enterprise, Teams tenant) to the organisation it belongs to. */
export const workspaces = pgTable(
  'workspaces',
  {
    platform: text({ enum: ['slack', 'teams'] }).notNull(),
    externalId: text().notNull(),
    orgId: bigint({ mode: 'bigint' })
      .notNull()
      .references(() => organisations.id),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.platform, t.externalId] }), index().on(t.orgId)],
);

export const memberRoles = ['admin', 'manager', 'member'] as const;
export type MemberRole = (typeof memberRoles)[number];

export const members = pgTable(
  'members',
  {
    orgId: bigint({ mode: 'bigint' })
      .notNull()
      .references(() => organisations.id),
    id: bigint({ mode: 'bigint' }).notNull().generatedAlwaysAsIdentity(),
    displayName: text().notNull(),
    /** Lower-cased; links one person across Slack and Teams. */
    email: text(),
    timeZone: text(),
    role: text({ enum: memberRoles }).notNull().default('member'),
    managerId: bigint({ mode: 'bigint' }),
    isBot: boolean().notNull().default(false),
    isActive: boolean().notNull().default(true),
    leaderboardOptOut: boolean().notNull().default(false),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('members_org_email_key').on(t.orgId, t.email),
    index().on(t.orgId, t.managerId),
    foreignKey({ columns: [t.orgId, t.managerId], foreignColumns: [t.orgId, t.id] }),
    check('members_email_lower', sql`${t.email} = lower(${t.email})`),
    check('members_not_own_manager', sql`${t.managerId} IS NULL OR ${t.managerId} <> ${t.id}`),
  ],
);

/** A platform account of a member: Slack (team id + user id) or Teams (tenant id + Entra object id). */
export const memberIdentities = pgTable(
  'member_identities',
  {
    orgId: bigint({ mode: 'bigint' }).notNull(),
    platform: text({ enum: ['slack', 'teams'] }).notNull(),
    /** Slack user id (U…/W…) or Teams Entra object id. */
    externalId: text().notNull(),
    /** Slack team id or Teams tenant id the identity was seen in. */
    workspaceId: text().notNull(),
    memberId: bigint({ mode: 'bigint' }).notNull(),
    /** Platform-specific extras, e.g. the Teams 29: id used to mention the person. */
    details: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.platform, t.externalId] }),
    index().on(t.orgId, t.memberId),
    foreignKey({ columns: [t.orgId, t.memberId], foreignColumns: [members.orgId, members.id] }),
  ],
);

/** Who did what, when, from which platform; written in the same transaction as the change it records. */
export const auditLog = pgTable(
  'audit_log',
  {
    orgId: bigint({ mode: 'bigint' })
      .notNull()
      .references(() => organisations.id),
    id: bigint({ mode: 'bigint' }).notNull().generatedAlwaysAsIdentity(),
    at: timestamp({ withTimezone: true }).notNull().defaultNow(),
    actorMemberId: bigint({ mode: 'bigint' }),
    platform: text().notNull(),
    action: text().notNull(),
    details: jsonb().$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.id] })],
);
