import type { RequestHandler } from 'express';
import type { AppModule } from '../app/module';
import type { Config } from '../config/config';
import { isLoopbackAddress } from '../http/loopback.models';
import type { Logger } from '../lib/logger';

/** The route Bot Framework posts activities to (pinned in DESIGN.md). */
export const teamsMessagesPath = '/api/messages';

/**
 * Who may post to POST /api/messages:
 * - `authenticated`: MICROSOFT_APP_ID is set; botbuilder checks every request's Bot Framework token.
 * - `loopback_only`: no app id and TEAMS_ALLOW_UNAUTHENTICATED=true; unauthenticated activities are
 *   accepted from loopback addresses only (the Agents Playground, the Emulator, tests on this machine).
 * - `refused`: no app id and no opt-in (the default); every request gets 401 and nothing is read.
 */
export type TeamsAccess = 'authenticated' | 'loopback_only' | 'refused';

export function teamsAccess(config: Config): TeamsAccess {
  if (config.MICROSOFT_APP_ID) return 'authenticated';
  return config.TEAMS_ALLOW_UNAUTHENTICATED ? 'loopback_only' : 'refused';
}

const notConfigured = {
  error: 'unauthorized',
  detail: 'Teams is not configured on this server (no MICROSOFT_APP_ID)',
};
const notLoopback = {
  error: 'unauthorized',
  detail: 'unauthenticated Teams activities are accepted from this machine only (TEAMS_ALLOW_UNAUTHENTICATED)',
};

/**
 * Runs before anything reads the body. With `refused` every request is answered 401; with
 * `loopback_only` a request whose socket's remote address is not loopback is answered 401. The
 * address is the TCP peer's (`req.socket.remoteAddress`), never `req.ip`, which follows
 * X-Forwarded-For when a proxy is trusted and is therefore whatever the sender writes.
 */
export function teamsAccessGuard(access: TeamsAccess): RequestHandler {
  return (req, res, next) => {
    if (access === 'authenticated') return next();
    if (access === 'loopback_only' && isLoopbackAddress(req.socket.remoteAddress)) return next();
    res.status(401).json(access === 'refused' ? notConfigured : notLoopback);
  };
}

/** One line in the start log saying who may post to /api/messages. */
export function describeTeamsAccess(config: Config, logger: Logger): void {
  switch (teamsAccess(config)) {
    case 'authenticated':
      logger.info(
        { appType: config.MICROSOFT_APP_TYPE, ignored: config.TEAMS_ALLOW_UNAUTHENTICATED || undefined },
        `Teams is configured on POST ${teamsMessagesPath}`,
      );
      return;
    case 'loopback_only':
      logger.warn(
        `Teams accepts UNAUTHENTICATED activities on POST ${teamsMessagesPath} from loopback addresses only ` +
          '(TEAMS_ALLOW_UNAUTHENTICATED=true, for the Agents Playground, the Emulator and tests); ' +
          'every other address gets 401. Never use it on a public address: set MICROSOFT_APP_ID for production',
      );
      return;
    case 'refused':
      logger.info(
        `Teams is off: POST ${teamsMessagesPath} answers 401. Set MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD, ` +
          'MICROSOFT_APP_TENANT_ID and MICROSOFT_APP_TYPE (or TEAMS_ALLOW_UNAUTHENTICATED=true for the Playground on this machine)',
      );
      return;
  }
}

/** What serves /api/messages when Teams is off: the 401, without loading botbuilder. */
export function createTeamsRefusalModule(): AppModule {
  return {
    name: 'teams-off',
    mount(app) {
      app.post(teamsMessagesPath, teamsAccessGuard('refused'));
    },
  };
}
