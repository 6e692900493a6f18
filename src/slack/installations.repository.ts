import { and, asc, eq, gt, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Orm } from '../db/client';
import { workspaces } from '../members/members.tables';
import { slackInstallations, slackOAuthStatesUsed } from './slack.tables';

// The SQL of Slack installations (distribution) and of redeemed OAuth states. Tokens never appear in
// a column here: `secret` is sealed before it reaches these functions and opened after.

export type InstallationRow = typeof slackInstallations.$inferSelect;
export type NewInstallationRow = Omit<typeof slackInstallations.$inferInsert, 'id'>;

/** Where an installation serves: a workspace (team, maybe inside an enterprise) or a whole enterprise. */
export interface InstallationKey {
  enterpriseId: string | null;
  teamId: string | null;
}

/** Installations read for one organisation at most (a Grid organisation can link many workspaces). */
export const organisationInstallationsMax = 50;

/** Installations re-encrypted per round trip by a key rotation. */
export const rotationPageSize = 100;

/** Writes an installation, replacing the one stored for the same enterprise and team (a reinstall). */
export async function upsertInstallation(orm: Orm, row: NewInstallationRow): Promise<InstallationRow> {
  const { installedAt: _firstInstalledAt, ...changes } = row;
  const [saved] = await orm
    .insert(slackInstallations)
    .values(row)
    .onConflictDoUpdate({ target: [slackInstallations.enterpriseId, slackInstallations.teamId], set: changes })
    .returning();
  return saved!;
}

const sameKey = (key: InstallationKey) =>
  and(
    key.enterpriseId === null
      ? isNull(slackInstallations.enterpriseId)
      : eq(slackInstallations.enterpriseId, key.enterpriseId),
    key.teamId === null ? isNull(slackInstallations.teamId) : eq(slackInstallations.teamId, key.teamId),
  );

/** The installation stored for exactly this enterprise and team. */
export async function findInstallation(orm: Orm, key: InstallationKey): Promise<InstallationRow | undefined> {
  const [row] = await orm.select().from(slackInstallations).where(sameKey(key)).limit(1);
  return row;
}

/** The workspace-level installation of a team (T…), whichever enterprise it belongs to. */
export async function findTeamInstallation(orm: Orm, teamId: string): Promise<InstallationRow | undefined> {
  const [row] = await orm
    .select()
    .from(slackInstallations)
    .where(and(eq(slackInstallations.teamId, teamId), eq(slackInstallations.isEnterpriseInstall, false)))
    .limit(1);
  return row;
}

/**
 * Installations serving an organisation: workspace installs of its Slack workspaces and org-wide
 * installs of its enterprises (the `workspaces` rows that map them to it), oldest first, bounded.
 */
export async function listOrganisationInstallations(orm: Orm, orgId: bigint): Promise<InstallationRow[]> {
  const linked = orm
    .select({ externalId: workspaces.externalId })
    .from(workspaces)
    .where(and(eq(workspaces.orgId, orgId), eq(workspaces.platform, 'slack')));
  return orm
    .select()
    .from(slackInstallations)
    .where(
      or(
        and(eq(slackInstallations.isEnterpriseInstall, false), inArray(slackInstallations.teamId, linked)),
        and(eq(slackInstallations.isEnterpriseInstall, true), inArray(slackInstallations.enterpriseId, linked)),
      ),
    )
    .orderBy(asc(slackInstallations.id))
    .limit(organisationInstallationsMax);
}

/** Deletes the installation of exactly this enterprise and team; returns what was deleted. */
export async function deleteInstallation(orm: Orm, key: InstallationKey): Promise<InstallationRow[]> {
  return orm.delete(slackInstallations).where(sameKey(key)).returning();
}

/** Deletes the workspace-level installation of a team, whichever enterprise it belongs to. */
export async function deleteTeamInstallation(orm: Orm, teamId: string): Promise<InstallationRow[]> {
  return orm
    .delete(slackInstallations)
    .where(and(eq(slackInstallations.teamId, teamId), eq(slackInstallations.isEnterpriseInstall, false)))
    .returning();
}

/** One page of installations after `afterId`, in id order (key rotation walks them all). */
export async function listInstallationsAfter(orm: Orm, afterId: bigint): Promise<InstallationRow[]> {
  return orm
    .select()
    .from(slackInstallations)
    .where(gt(slackInstallations.id, afterId))
    .orderBy(asc(slackInstallations.id))
    .limit(rotationPageSize);
}

/**
 * Replaces an installation's sealed value, only if it is still sealed under `fromKeyId` (a reinstall
 * meanwhile wrote a newer value under the current key: that one stays). True when replaced.
 */
export async function replaceInstallationSecret(
  orm: Orm,
  input: { id: bigint; fromKeyId: string; keyId: string; secret: Buffer },
): Promise<boolean> {
  const rows = await orm
    .update(slackInstallations)
    .set({ keyId: input.keyId, secret: input.secret })
    .where(and(eq(slackInstallations.id, input.id), eq(slackInstallations.keyId, input.fromKeyId)))
    .returning({ id: slackInstallations.id });
  return rows.length > 0;
}

/** How many installations each key id seals (start-up checks that Allot holds every key it needs). */
export async function countInstallationsByKey(orm: Orm): Promise<{ keyId: string; count: number }[]> {
  const rows = await orm
    .select({ keyId: slackInstallations.keyId, count: sql<string>`count(*)::text` })
    .from(slackInstallations)
    .groupBy(slackInstallations.keyId)
    .limit(100);
  return rows.map((row) => ({ keyId: row.keyId, count: Number(row.count) }));
}

/** Records that an OAuth state was redeemed; false when it had been already (a replay). */
export async function recordStateUse(orm: Orm, input: { stateHash: string; at: Date }): Promise<boolean> {
  const rows = await orm
    .insert(slackOAuthStatesUsed)
    .values({ stateHash: input.stateHash, usedAt: input.at })
    .onConflictDoNothing()
    .returning({ stateHash: slackOAuthStatesUsed.stateHash });
  return rows.length > 0;
}

/** Forgets redeemed states older than `before` (by then their signatures have expired anyway). */
export async function pruneStateUses(orm: Orm, before: Date): Promise<void> {
  await orm.delete(slackOAuthStatesUsed).where(lt(slackOAuthStatesUsed.usedAt, before));
}
