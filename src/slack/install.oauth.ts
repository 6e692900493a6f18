import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Logger as SlackLogger } from '@slack/logger';
import {
  type ClearStateStore as ClearStateStoreClass,
  type InstallationStore,
  InstallProvider,
  InvalidStateError,
  type StateStore,
} from '@slack/oauth';
import type { WebClientOptions } from '@slack/web-api';
import type { Express } from 'express';
import type { Ctx } from '../lib/context';
import { installFailurePage, installPage } from './install.replies';
import { pruneStateUses, recordStateUse } from './installations.repository';

// Installing Allot into a workspace with Slack's OAuth v2 flow, through @slack/oauth's InstallProvider
// (Bolt's built-in installer): GET /slack/install serves the "Add to Slack" page and sets the state
// cookie; Slack sends the installer back to GET /slack/oauth_redirect with a code and the state; the
// provider checks the state, exchanges the code (oauth.v2.access), calls auth.test with the new token
// and hands the installation to our store (installations.usecases.ts), which seals it.

// @slack/oauth is CommonJS and re-exports ClearStateStore through a getter that Node's ESM loader does
// not see (`import { ClearStateStore }` fails under `npm start`, though not under a bundler): require it.
const { ClearStateStore } = createRequire(import.meta.url)('@slack/oauth') as {
  ClearStateStore: typeof ClearStateStoreClass;
};

export const slackInstallPath = '/slack/install';
export const slackOAuthRedirectPath = '/slack/oauth_redirect';

/** The bot scopes Allot asks for: exactly manifest.json's `oauth_config.scopes.bot` (checked by a test). */
export const slackBotScopes = ['commands', 'chat:write', 'im:write', 'users:read', 'users:read.email'] as const;

/** How long an install link's state is valid: @slack/oauth's default, 10 minutes. */
export const oauthStateExpirySeconds = 600;

/**
 * The state store: @slack/oauth's ClearStateStore signs the state (a JWT under SLACK_STATE_SECRET, with
 * the time it was made), so a forged state is refused without touching the database and an old one
 * expires; on top of it each state is redeemed at most once (its hash recorded in
 * `slack_oauth_states_used`), so a state replayed within its 10 minutes is refused too.
 */
export function createSingleUseStateStore(deps: { ctx: Ctx; stateSecret: string }): StateStore {
  const signed = new ClearStateStore(deps.stateSecret, oauthStateExpirySeconds);
  return {
    generateStateParam: (installOptions, now) => signed.generateStateParam(installOptions, now),
    async verifyStateParam(now, state) {
      const installOptions = await signed.verifyStateParam(now, state);
      const stateHash = createHash('sha256').update(state).digest('hex');
      const orm = deps.ctx.db.orm;
      await pruneStateUses(orm, new Date(now.getTime() - 2 * oauthStateExpirySeconds * 1000));
      if (!(await recordStateUse(orm, { stateHash, at: now }))) {
        throw new InvalidStateError('The state parameter was already used');
      }
      return installOptions;
    },
  };
}

/** Bolt's installer, asking for Allot's bot scopes and storing installations in `installationStore`. */
export function createInstaller(deps: {
  ctx: Ctx;
  clientId: string;
  clientSecret: string;
  stateSecret: string;
  installationStore: InstallationStore;
  clientOptions: WebClientOptions;
  logger: SlackLogger;
}): InstallProvider {
  return new InstallProvider({
    clientId: deps.clientId,
    clientSecret: deps.clientSecret,
    stateStore: createSingleUseStateStore(deps),
    stateCookieExpirationSeconds: oauthStateExpirySeconds,
    installationStore: deps.installationStore,
    installUrlOptions: { scopes: [...slackBotScopes] },
    renderHtmlForInstallPath: installPage,
    clientOptions: deps.clientOptions,
    logger: deps.logger,
    authVersion: 'v2',
  });
}

/** Mounts GET /slack/install and GET /slack/oauth_redirect on the one HTTP app. */
export function mountInstallRoutes(http: Express, installer: InstallProvider): void {
  http.get(slackInstallPath, async (req, res, next) => {
    try {
      await installer.handleInstallPath(req, res);
    } catch (error) {
      next(error);
    }
  });
  http.get(slackOAuthRedirectPath, async (req, res, next) => {
    try {
      await installer.handleCallback(req, res, {
        // The provider's own success page sends the person back to Slack; failures get ours.
        failure: (error, _options, _req, response) => {
          const page = installFailurePage(error.code);
          response.writeHead(page.status, { 'Content-Type': 'text/html; charset=utf-8' });
          response.end(page.html);
        },
      });
    } catch (error) {
      next(error);
    }
  });
}
