import type { Installation, InstallationQuery, InstallationStore } from '@slack/oauth';
import type { Ctx } from '../lib/context';
import type { Logger } from '../lib/logger';
import { type KeyRing, type OpenFailure, open, seal } from '../lib/secret-box';
import {
  installationKeyOf,
  installationKeysFor,
  installationNameOf,
  installationToKeep,
  sealContextOf,
} from './installations.models';
import type { InstallationKey, InstallationRow } from './installations.repository';
import * as repo from './installations.repository';

// Slack installations (distribution): the installation store Bolt's installer writes and its
// authorize reads, the bot token behind each workspace for proactive sends, uninstalling, and key
// rotation. Tokens exist in clear only in memory, between `open` and the Web API call; they are never
// logged (log lines name the installation by id, enterprise and team).

export interface InstallationsDeps {
  ctx: Ctx;
  ring: KeyRing;
  logger: Logger;
}

/** A workspace's bot token and the installation it came from. */
export interface WorkspaceToken {
  token: string;
  /** The installation's row id (a stable name for caches and logs). */
  installationId: bigint;
  enterpriseId: string | null;
  teamId: string | null;
  botUserId: string;
}

/** The installation of a row, opened with the ring; undefined (logged, without the secret) when it cannot be. */
function openRow(deps: InstallationsDeps, row: InstallationRow): Installation | undefined {
  const opened = open(deps.ring, { keyId: row.keyId, sealed: row.secret }, sealContextOf(row));
  if (!opened.ok) {
    deps.logger.error(
      { installationId: row.id.toString(), enterpriseId: row.enterpriseId, teamId: row.teamId, keyId: row.keyId },
      opened.failure === 'unknown_key'
        ? 'a Slack installation is encrypted with a key Allot was not given: add it to ALLOT_PREVIOUS_ENCRYPTION_KEYS'
        : 'a Slack installation could not be decrypted (altered, or moved from another row)',
    );
    return undefined;
  }
  return JSON.parse(opened.value) as Installation;
}

function tokenOf(deps: InstallationsDeps, row: InstallationRow): WorkspaceToken | null {
  const token = openRow(deps, row)?.bot?.token;
  if (!token) return null;
  return {
    token,
    installationId: row.id,
    enterpriseId: row.enterpriseId,
    teamId: row.teamId,
    botUserId: row.botUserId,
  };
}

/**
 * The installation store for @slack/oauth's InstallProvider (OAuth callback and Bolt's authorize):
 * rows in `slack_installations`, the installation sealed under the ring's current key.
 */
export function createInstallationStore(deps: InstallationsDeps): InstallationStore {
  return {
    async storeInstallation(installation) {
      const kept = installationToKeep(installation as Installation);
      const key = installationKeyOf(kept);
      if (!kept.bot?.token || !kept.bot.userId || (!key.teamId && !key.enterpriseId)) {
        throw new Error('Slack installation without a bot token or a workspace: Allot needs its bot scopes');
      }
      const sealed = seal(deps.ring, JSON.stringify(kept), sealContextOf(key));
      const now = deps.ctx.clock.now();
      const row = await repo.upsertInstallation(deps.ctx.db.orm, {
        ...key,
        name: installationNameOf(kept),
        appId: kept.appId ?? null,
        botUserId: kept.bot.userId,
        botId: kept.bot.id ?? null,
        scopes: kept.bot.scopes.join(','),
        installerUserId: kept.user.id ?? null,
        keyId: sealed.keyId,
        secret: sealed.sealed,
        installedAt: now,
        updatedAt: now,
      });
      deps.logger.info(
        { installationId: row.id.toString(), enterpriseId: row.enterpriseId, teamId: row.teamId, keyId: row.keyId },
        'Slack installation stored',
      );
    },
    async fetchInstallation(query: InstallationQuery<boolean>) {
      for (const key of installationKeysFor(query)) {
        const row = await repo.findInstallation(deps.ctx.db.orm, key);
        const installation = row && openRow(deps, row);
        if (installation) return installation;
      }
      // Bolt answers nothing to a request it cannot authorize; the message names no secret.
      throw new Error(`Allot is not installed for enterprise ${query.enterpriseId ?? '-'} team ${query.teamId ?? '-'}`);
    },
    async deleteInstallation(query: InstallationQuery<boolean>) {
      const [key] = installationKeysFor(query);
      if (key) await repo.deleteInstallation(deps.ctx.db.orm, key);
    },
  };
}

/**
 * The bot token for a workspace (team) of an organisation: the workspace's own installation, else an
 * org-wide installation of one of the organisation's enterprises; null when none serves it (never
 * installed, uninstalled, or its key is missing), so nothing is sent there.
 */
export async function botTokenForWorkspace(
  deps: InstallationsDeps,
  input: { orgId: bigint; teamId: string | undefined },
): Promise<WorkspaceToken | null> {
  if (input.teamId) {
    const own = await repo.findTeamInstallation(deps.ctx.db.orm, input.teamId);
    if (own) return tokenOf(deps, own);
  }
  const rows = await repo.listOrganisationInstallations(deps.ctx.db.orm, input.orgId);
  const orgWide = rows.find((row) => row.isEnterpriseInstall);
  return orgWide ? tokenOf(deps, orgWide) : null;
}

/** Every bot token serving an organisation (oldest installation first; bounded), for a post whose workspace is unknown. */
export async function botTokensForOrganisation(deps: InstallationsDeps, orgId: bigint): Promise<WorkspaceToken[]> {
  const rows = await repo.listOrganisationInstallations(deps.ctx.db.orm, orgId);
  return rows.map((row) => tokenOf(deps, row)).filter((token): token is WorkspaceToken => token !== null);
}

/** An installation as admins and logs name it (never its token). */
export interface RemovedInstallation {
  id: bigint;
  name: string;
  key: InstallationKey;
}

/**
 * Deletes an installation at once (app_uninstalled, or its bot token revoked), so no request or send
 * uses its token afterwards: an org-wide one by enterprise, a workspace one by team. Returns what was
 * deleted (nothing for the second notice of the same removal: Slack sends both events).
 */
export async function removeInstallation(
  deps: InstallationsDeps,
  where: { enterpriseId?: string; teamId?: string; isEnterpriseInstall: boolean },
): Promise<RemovedInstallation[]> {
  const orm = deps.ctx.db.orm;
  const rows =
    where.isEnterpriseInstall && where.enterpriseId
      ? await repo.deleteInstallation(orm, { enterpriseId: where.enterpriseId, teamId: null })
      : where.teamId
        ? await repo.deleteTeamInstallation(orm, where.teamId)
        : [];
  return rows.map((row) => {
    deps.logger.info(
      { installationId: row.id.toString(), enterpriseId: row.enterpriseId, teamId: row.teamId },
      'Slack installation removed: its token is deleted',
    );
    return { id: row.id, name: row.name, key: { enterpriseId: row.enterpriseId, teamId: row.teamId } };
  });
}

/** What a key rotation did. `unreadable` lists installations sealed under keys the ring lacks (or altered). */
export interface RotationReport {
  reencrypted: number;
  alreadyCurrent: number;
  unreadable: { installationId: bigint; keyId: string; reason: OpenFailure }[];
}

/**
 * Re-encrypts every installation not sealed under the ring's current key (`allot keys rotate`), a
 * page at a time, each row replaced only if no reinstall changed it meanwhile. Safe to run again.
 */
export async function rotateInstallationKeys(deps: InstallationsDeps): Promise<RotationReport> {
  const report: RotationReport = { reencrypted: 0, alreadyCurrent: 0, unreadable: [] };
  for (let afterId = 0n; ; ) {
    const page = await repo.listInstallationsAfter(deps.ctx.db.orm, afterId);
    if (page.length === 0) return report;
    for (const row of page) {
      afterId = row.id;
      if (row.keyId === deps.ring.current.id) {
        report.alreadyCurrent++;
        continue;
      }
      const context = sealContextOf(row);
      const opened = open(deps.ring, { keyId: row.keyId, sealed: row.secret }, context);
      if (!opened.ok) {
        report.unreadable.push({ installationId: row.id, keyId: row.keyId, reason: opened.failure });
        continue;
      }
      const sealed = seal(deps.ring, opened.value, context);
      const replaced = await repo.replaceInstallationSecret(deps.ctx.db.orm, {
        id: row.id,
        fromKeyId: row.keyId,
        keyId: sealed.keyId,
        secret: sealed.sealed,
      });
      if (replaced) report.reencrypted++;
      else report.alreadyCurrent++;
    }
  }
}

/** Key ids that seal stored installations but are not in the ring, with how many each seals. */
export async function missingInstallationKeys(deps: Pick<InstallationsDeps, 'ctx' | 'ring'>) {
  const counts = await repo.countInstallationsByKey(deps.ctx.db.orm);
  return counts.filter((entry) => !deps.ring.byId.has(entry.keyId));
}
