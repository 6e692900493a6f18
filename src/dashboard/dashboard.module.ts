import express, { type NextFunction, type Request, type Response, Router } from 'express';
import type { AppDeps, AppModule } from '../app/module';
import { sweepStaleSessions } from '../sessions/sessions.usecases';
import { assets } from './assets';
import { type Dashboard, frameOf, requireFormOfSession, requireSession, sendPage, viewerOf } from './dashboard.http';
import { mountExports } from './exports.routes';
import { mountKeys } from './keys.routes';
import { mountLedger } from './ledger.routes';
import { mountMe } from './me.routes';
import { mountOrg, onlyAdmins } from './org.routes';
import { mountPrices } from './prices.routes';
import { cookieNames, securityHeaders, signInRateLimitDefault } from './security';
import { mountSignIn } from './signin.routes';
import { mountTeam } from './team.routes';
import { messagePage } from './views/message.view';

// The web dashboard (issue #15): pages for members, managers and admins, served by Allot's one HTTP
// server under /dashboard. On only with DASHBOARD_URL; without it every /dashboard address says what
// to set. Sign-in is by one-time links from chat or the CLI (signin.routes.ts); every page reads the
// person signed in from their session (dashboard.http.ts) and every change goes through the verbs
// chat and the CLI use.

/** How often dead links and sessions are removed. */
const sweepIntervalMs = 60 * 60 * 1000;
/** Largest form body read (the biggest form is a price or a memo). */
const formBytesMax = 16 * 1024;

function createRouter(dashboard: Dashboard): Router {
  const router = Router();
  router.use(securityHeaders);
  router.get('/assets/:hash/:name', (req, res, next) => {
    const asset = [...assets().values()].find((candidate) => candidate.url === req.originalUrl.split('?')[0]);
    if (!asset) return next();
    res.set({ 'Content-Type': asset.contentType, 'Cache-Control': 'public, max-age=31536000, immutable' });
    res.send(asset.body);
  });
  router.use(express.urlencoded({ extended: false, limit: formBytesMax, parameterLimit: 50 }));
  mountSignIn(router, dashboard, signInRateLimitDefault);

  router.use(requireSession(dashboard), requireFormOfSession(dashboard));
  router.get('/', (_req, res) => res.redirect(303, '/dashboard/me'));
  mountMe(router, dashboard);
  mountTeam(router, dashboard);
  router.use('/org', onlyAdmins);
  mountOrg(router, dashboard);
  mountLedger(router, dashboard);
  mountPrices(router, dashboard);
  mountKeys(router, dashboard);
  mountExports(router, dashboard);

  router.use((_req, res) => {
    const viewer = res.locals.viewer ? frameOf(viewerOf(res)) : undefined;
    sendPage(res, 404, messagePage({ title: 'Not found', lines: ['There is no such page in the dashboard.'], viewer }));
  });
  router.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (error as { status?: number }).status ?? 500;
    if (status >= 500) dashboard.deps.logger.error({ err: error }, 'dashboard page failed');
    // A failure after the first bytes (a CSV export in progress): end the connection, so the download
    // fails visibly instead of looking complete.
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendPage(
      res,
      Math.min(status, 500),
      messagePage({
        title: status >= 500 ? 'Something went wrong' : 'That request could not be read',
        lines: [
          status >= 500
            ? 'Something went wrong on our side and nothing was changed. Please try again in a minute.'
            : 'That request could not be read, so nothing was changed. Go back, reload the page and try again.',
        ],
      }),
    );
  });
  return router;
}

/** The dashboard as a module of the app: its routes, and an hourly sweep of dead links and sessions. */
export function createDashboardModule(deps: AppDeps): AppModule {
  const origin = deps.config.DASHBOARD_URL;
  let sweeper: NodeJS.Timeout | undefined;
  return {
    name: origin ? 'dashboard' : 'dashboard-off',
    mount(app) {
      if (!origin) {
        app.use('/dashboard', (_req, res) => {
          res
            .status(404)
            .type('text')
            .send('The dashboard is off. Set DASHBOARD_URL to its public address (like https://allot.acme.com).\n');
        });
        return;
      }
      const secure = origin.startsWith('https:');
      assets(); // Read now, so a missing file stops the start rather than the first page.
      app.use('/dashboard', createRouter({ deps, origin, secure, cookies: cookieNames(secure) }));
    },
    async start() {
      if (!origin) return;
      sweeper = setInterval(() => {
        sweepStaleSessions(deps.ctx).catch((error) => deps.logger.warn({ err: error }, 'session sweep failed'));
      }, sweepIntervalMs);
      sweeper.unref();
    },
    async stop() {
      if (sweeper) clearInterval(sweeper);
    },
  };
}
