import { WebClient, type WebClientOptions } from '@slack/web-api';
import { botTokenForWorkspace, botTokensForOrganisation, type InstallationsDeps } from './installations.usecases';

// Which Web API client (which bot token) speaks for a workspace when Allot writes first: a direct
// message, a digest, an edited approval. Requests do not come through here: Bolt hands each listener
// a client with the token its `authorize` found for the request's workspace.

/** A client bound to one workspace's bot token; `teamId` is null for an org-wide (Grid) install. */
export interface WorkspaceClient {
  client: WebClient;
  /** Names the installation in caches (the DM channel ids of one token are not another's). */
  installation: string;
  teamId: string | null;
}

export interface SlackClients {
  /** The client for a workspace (team id) of an organisation; null when Allot is not installed there. */
  forWorkspace(input: { orgId: bigint; teamId: string | undefined }): Promise<WorkspaceClient | null>;
  /** The clients of every installation serving an organisation (bounded), for a post whose workspace is unknown. */
  forOrganisation(orgId: bigint): Promise<WorkspaceClient[]>;
}

/** One workspace, one token (SLACK_BOT_TOKEN): every send uses the same client, as before distribution. */
export function singleWorkspaceClients(client: WebClient): SlackClients {
  const only: WorkspaceClient = { client, installation: 'single', teamId: null };
  return {
    forWorkspace: async () => only,
    forOrganisation: async () => [only],
  };
}

/** Most Web API clients kept (one per installation; the map is emptied when full). */
export const workspaceClientsCachedMax = 1_000;

/**
 * Distribution: the token comes from the workspace's installation, read from the database at each
 * send, so an uninstalled workspace gets nothing from the next send on, whichever replica sends.
 * The clients (HTTP agents) are reused per installation, workspace and token.
 */
export function installedWorkspaceClients(deps: InstallationsDeps, options: WebClientOptions): SlackClients {
  const clients = new Map<string, { token: string; client: WebClient }>();
  // An org-wide token speaks for every workspace of the enterprise; the WebClient's teamId adds the
  // workspace (team_id) to each call, as Bolt does for requests, so each workspace gets its own client.
  const clientFor = (installationId: bigint, token: string, teamId: string | null): WorkspaceClient => {
    const name = `${installationId}/${teamId ?? '-'}`;
    let cached = clients.get(name);
    if (!cached || cached.token !== token) {
      if (clients.size >= workspaceClientsCachedMax) clients.clear();
      cached = { token, client: new WebClient(token, { ...options, ...(teamId ? { teamId } : {}) }) };
      clients.set(name, cached);
    }
    return { client: cached.client, installation: name, teamId };
  };
  return {
    async forWorkspace(input) {
      const found = await botTokenForWorkspace(deps, input);
      return found ? clientFor(found.installationId, found.token, input.teamId ?? found.teamId) : null;
    },
    async forOrganisation(orgId) {
      const found = await botTokensForOrganisation(deps, orgId);
      return found.map((token) => clientFor(token.installationId, token.token, token.teamId));
    },
  };
}
