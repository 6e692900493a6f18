import { sql } from 'drizzle-orm';
import { bigint, boolean, check, customType, index, pgTable, text, timestamp, unique } from 'drizzle-orm/pg-core';

/** bytea as a Buffer (postgres.js returns a Buffer, PGlite a Uint8Array). */
const bytes = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) => Buffer.from(value),
  toDriver: (value) => value,
});

/**
 * Allot's installations in Slack workspaces (distribution, SLACK_CLIENT_ID): one row per workspace
 * install (team id, with the enterprise id inside an Enterprise Grid organisation) or per org-wide
 * install (enterprise id, no team). The installation as @slack/oauth hands it over, bot token
 * included, is stored only sealed (AES-256-GCM, src/lib/secret-box.ts) under the key `key_id`; the
 * columns beside it hold what lookups and operators need, never a token. Uninstalling deletes the row;
 * the organisation and its ledger stay, and a reinstall writes a new row.
 */
export const slackInstallations = pgTable(
  'slack_installations',
  {
    id: bigint({ mode: 'bigint' }).primaryKey().generatedAlwaysAsIdentity(),
    /** E…: the Enterprise Grid organisation; NULL outside Grid. */
    enterpriseId: text(),
    /** T…: the workspace; NULL for an org-wide install, which serves every workspace of the enterprise. */
    teamId: text(),
    isEnterpriseInstall: boolean().notNull(),
    /** Name shown to admins (the workspace's or the enterprise's). */
    name: text().notNull(),
    appId: text(),
    botUserId: text().notNull(),
    botId: text(),
    /** The bot scopes granted, comma-separated as Slack returns them. */
    scopes: text().notNull(),
    /** The Slack user who installed Allot. */
    installerUserId: text(),
    /** Id of the key that sealed `secret` (src/lib/secret-box.ts encryptionKeyId). */
    keyId: text().notNull(),
    /** The sealed installation (JSON, tokens included). */
    secret: bytes().notNull(),
    installedAt: timestamp({ withTimezone: true }).notNull(),
    updatedAt: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [
    unique('slack_installations_enterprise_team_key').on(t.enterpriseId, t.teamId).nullsNotDistinct(),
    // A proactive send knows the workspace (team) of the person, not always their enterprise.
    index('slack_installations_team_idx').on(t.teamId),
    check(
      'slack_installations_scope',
      sql`(${t.isEnterpriseInstall} AND ${t.enterpriseId} IS NOT NULL AND ${t.teamId} IS NULL)
        OR (NOT ${t.isEnterpriseInstall} AND ${t.teamId} IS NOT NULL)`,
    ),
  ],
);

/**
 * OAuth state parameters already redeemed at /slack/oauth_redirect (their SHA-256), so a state
 * replayed while its signature is still valid (10 minutes) is refused. Rows older than that are pruned.
 */
export const slackOAuthStatesUsed = pgTable('slack_oauth_states_used', {
  stateHash: text().primaryKey(),
  usedAt: timestamp({ withTimezone: true }).notNull(),
});
