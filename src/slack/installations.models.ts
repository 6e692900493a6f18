import type { Installation, InstallationQuery } from '@slack/oauth';
import type { InstallationKey } from './installations.repository';

// Pure rules about Slack installations: which row an installation or a request belongs to, what of an
// installation is kept, and the context its sealed value is bound to.

/** The row an installation is stored under: an org-wide install by enterprise alone, else by team. */
export function installationKeyOf(installation: Installation): InstallationKey & { isEnterpriseInstall: boolean } {
  const isEnterpriseInstall = installation.isEnterpriseInstall === true;
  return {
    enterpriseId: installation.enterprise?.id ?? null,
    teamId: isEnterpriseInstall ? null : (installation.team?.id ?? null),
    isEnterpriseInstall,
  };
}

/**
 * The rows that may serve a request, best first: an org-wide request is served by its enterprise's
 * install; a workspace request by the workspace's own install, else by an org-wide install of its
 * enterprise (Slack marks such requests org-wide, but not every payload carries the flag).
 */
export function installationKeysFor(query: InstallationQuery<boolean>): InstallationKey[] {
  const enterpriseId = query.enterpriseId ?? null;
  const orgWide = enterpriseId ? [{ enterpriseId, teamId: null }] : [];
  if (query.isEnterpriseInstall || !query.teamId) return orgWide;
  return [{ enterpriseId, teamId: query.teamId }, ...orgWide];
}

/**
 * The id the organisation's `workspaces` row carries for an installation: the enterprise for an
 * org-wide install (one organisation for the whole Grid), else the team, as src/slack/listeners do.
 */
export function workspaceIdOf(key: InstallationKey): string | null {
  return key.teamId ?? key.enterpriseId;
}

/** What a sealed value is bound to: the row it belongs to (AES-GCM additional authenticated data). */
export function sealContextOf(key: InstallationKey): string {
  return `slack_installations:${key.enterpriseId ?? '-'}:${key.teamId ?? '-'}`;
}

/**
 * The installation as kept: everything @slack/oauth hands over except a user token, which Allot never
 * asks for (manifest.json has no user scopes) and so never keeps, should one arrive.
 */
export function installationToKeep(installation: Installation): Installation {
  const { token: _token, refreshToken: _refreshToken, expiresAt: _expiresAt, ...user } = installation.user;
  return { ...installation, user: { ...user, token: undefined } } as Installation;
}

/** The name admins read for an installation: the workspace's, or the enterprise's for an org-wide one. */
export function installationNameOf(installation: Installation): string {
  return (
    (installation.isEnterpriseInstall ? installation.enterprise?.name : installation.team?.name) ??
    installation.team?.id ??
    installation.enterprise?.id ??
    'Slack'
  );
}
