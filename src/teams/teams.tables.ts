import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { organisations } from '../members/members.tables';

export const teamsConversationTypes = ['personal', 'groupChat', 'channel'] as const;
export type TeamsConversationType = (typeof teamsConversationTypes)[number];

/**
 * Every Teams conversation the bot has seen (personal chat, group chat, channel) with the serialized
 * ConversationReference needed to write to it later (approval requests, grant notices, digests).
 * Teams offers no way to message a person by email, so this table is the only road to proactive sends.
 */
export const teamsConversations = pgTable(
  'teams_conversations',
  {
    orgId: bigint({ mode: 'bigint' })
      .notNull()
      .references(() => organisations.id),
    conversationId: text().notNull(),
    conversationType: text({ enum: teamsConversationTypes }).notNull(),
    tenantId: text().notNull(),
    /** TurnContext.getConversationReference of the latest activity, as JSON. */
    reference: jsonb().$type<Record<string, unknown>>().notNull(),
    /** Regional connector URL; Teams may move a conversation, so it is refreshed on every activity. */
    serviceUrl: text().notNull(),
    /** Entra object id of the person in a personal chat (NULL for group chats and channels). */
    memberAadObjectId: text(),
    /** The team id (19:…) of a channel conversation. */
    teamId: text(),
    /** False once Teams answered 403 (bot removed or blocked); a later activity makes it true again. */
    reachable: boolean().notNull().default(true),
    unreachableReason: text(),
    updatedAt: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.conversationId] }),
    index('teams_conversations_personal_idx').on(t.orgId, t.memberAadObjectId, t.conversationType),
    check('teams_conversations_type', sql`${t.conversationType} IN ('personal', 'groupChat', 'channel')`),
  ],
);
