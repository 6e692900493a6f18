import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createMaintenanceModule } from './app/maintenance.module';
import type { AppDeps, AppModule } from './app/module';
import { describeStartupFailure, startupExitCodes } from './app/startup-failures';
import { createApprovalsModule } from './approvals/approvals.module';
import { sweepExpiredRequests } from './chat/actions.usecases';
import { digestFailureNotice } from './chat/digest.replies';
import { type Config, loadConfigFromProcessEnv, slackModeOf } from './config/config';
import { createDashboardModule } from './dashboard/dashboard.module';
import { createDatabase, type Database } from './db/client';
import { applyMigrations } from './db/migrate';
import { createDigestModule } from './digest/digest.module';
import { createHttpApp, finishHttpApp, listen } from './http/server';
import { createExpiryModule } from './ledger/expiry.module';
import { type Clock, systemClock } from './lib/clock';
import { createLogger, type Logger } from './lib/logger';
import { createMetrics } from './lib/metrics';
import { Notifier } from './notify/notifier';
import { createReservationsModule } from './reservations/reservations.module';
import { createTeamsRefusalModule, describeTeamsAccess, teamsAccess } from './teams/teams.access';
import { createAlertRunner } from './usage/alerts.usecases';
import { createUsageModule } from './usage/usage.module';

export interface RunningAllot {
  server: Server;
  port: number;
  deps: AppDeps;
  stop(): Promise<void>;
  /** Resolves once no module has request work in flight (AppModule.idle). */
  idle(): Promise<void>;
}

/** Starts Allot as `npm start` does: database and migrations, modules, HTTP server, schedules. */
export async function startAllot(options: { config: Config; clock?: Clock; logger?: Logger }): Promise<RunningAllot> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  const db: Database = await createDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATABASE_URL ? undefined : config.DATA_DIR,
  });
  try {
    await applyMigrations(db, config.DATABASE_URL);
  } catch (error) {
    await db.close();
    throw error;
  }
  logger.info({ database: db.kind, dataDir: db.kind === 'pglite' ? config.DATA_DIR : undefined }, 'database ready');
  if (db.embedded && db.location.kind === 'pglite-folder') {
    // The CLI works beside the server through this socket instead of opening the folder (see pglite-socket.ts).
    try {
      const socketPath = await db.embedded.serveSocket({ onProblem: (problem) => logger.warn(problem) });
      logger.info({ socketPath }, 'the allot CLI reaches this database through the socket');
    } catch (error) {
      logger.warn({ err: error }, 'no socket for the allot CLI: it cannot run while this server runs');
    }
  }

  const metrics = createMetrics();
  const deps: AppDeps = {
    config,
    ctx: { db, clock: options.clock ?? systemClock },
    logger,
    metrics,
    notifier: new Notifier(() => db.orm),
  };
  // One alert runner for every route that debits (/v1/usage, /v1/traces, settles): a wallet debited
  // by several is checked in one run, and runs keep their gap (alerts.usecases.ts).
  const alerts = createAlertRunner({ ...deps, percents: config.LOW_BALANCE_ALERT_PERCENTS });
  // The chat SDKs (Bolt, botbuilder: tens of megabytes each) are loaded only for a platform that is on.
  const modules: AppModule[] = [
    slackModeOf(config) !== 'off' ? (await import('./slack/slack.module')).createSlackModule(deps) : null,
    teamsAccess(config) === 'refused'
      ? createTeamsRefusalModule()
      : (await import('./teams/teams.module')).createTeamsModule(deps),
    createUsageModule(deps, alerts),
    createReservationsModule(deps, alerts),
    createExpiryModule(deps),
    createApprovalsModule(deps, () => sweepExpiredRequests(deps)),
    createDigestModule({ ...deps, failureNotice: digestFailureNotice }),
    createDashboardModule(deps),
    // PGlite in this process has no autovacuum: Allot analyses its tables as they grow and freezes old ones.
    db.embedded ? createMaintenanceModule(deps) : null,
  ].filter((module): module is AppModule => module !== null);
  describeConfiguration(config, logger);

  const app = createHttpApp({ db, metrics, logger });
  for (const module of modules) module.mount?.(app);
  finishHttpApp(app, logger);
  let server: Server;
  try {
    server = await listen(app, config.PORT, config.HOST);
  } catch (error) {
    // The port is taken (or HOST is not ours): release the database (on PGlite, DATA_DIR) before failing.
    await db.close();
    throw error;
  }
  for (const module of modules) await module.start?.();
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  logger.info({ host: config.HOST, port, modules: modules.map((module) => module.name) }, 'Allot is listening');

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      // Stop taking requests, let those in flight finish, then stop modules and the database.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections?.();
      await closed;
      for (const module of [...modules].reverse()) await module.stop?.();
      await db.close();
      logger.info('Allot stopped');
    })();
    return stopping;
  };
  const idle = async () => {
    await Promise.all(modules.map((module) => module.idle?.()));
  };
  return { server, port, deps, stop, idle };
}

function describeConfiguration(config: Config, logger: Logger): void {
  const slack = slackModeOf(config);
  if (slack !== 'off') {
    logger.info(
      { mode: config.SLACK_APP_TOKEN ? 'socket' : 'http', workspaces: slack },
      slack === 'distributed'
        ? 'Slack is configured: workspaces install Allot at /slack/install'
        : 'Slack is configured',
    );
  } else {
    logger.info(
      'Slack is off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode), ' +
        'or SLACK_CLIENT_ID and its companions to install Allot to several workspaces',
    );
  }
  describeTeamsAccess(config, logger);
  if (config.DASHBOARD_URL) logger.info({ url: `${config.DASHBOARD_URL}/dashboard` }, 'the web dashboard is on');
  else logger.info('the web dashboard is off: set DASHBOARD_URL to its public address, e.g. https://allot.acme.com');
}

/** How long a shutdown may take before the process exits anyway (exit 1), whatever is still in flight. */
const shutdownForceExitMs = 15_000;

async function main(): Promise<void> {
  const parsed = loadConfigFromProcessEnv();
  if (!parsed.ok) {
    for (const problem of parsed.problems) console.error(`config: ${problem}`);
    process.exit(startupExitCodes.configuration);
  }
  // The handlers go in before anything starts: /healthz answers as soon as the server listens, while
  // the modules' first sweeps still run, and a SIGINT or SIGTERM then (an orchestrator that stops a
  // replica as soon as it is ready) must still stop it cleanly, once the start has finished.
  // They stay for the process's whole life (`on`, not `once`): Ctrl-C on `npm start` sends SIGINT to
  // the whole process group, so the server gets one directly and a second that npm forwards. Without a
  // listener that second one would take Node's default action and kill the shutdown half-way through
  // (the database never closed, the PGlite folder's lock left behind). A repeat is already handled.
  // SIGHUP too: the terminal that ran `npm start` closing must stop it as cleanly as Ctrl-C.
  let signalled: NodeJS.Signals | undefined;
  let onSignal = (signal: NodeJS.Signals) => {
    signalled ??= signal;
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => onSignal(signal));
  let running: RunningAllot;
  try {
    running = await startAllot({ config: parsed.config });
  } catch (error) {
    // A known failure is one line saying what to do; anything else is a bug, shown with its stack.
    const failure = describeStartupFailure(error, parsed.config);
    if (!failure) throw error;
    console.error(failure.message);
    process.exit(failure.exitCode);
  }
  let first: { signal: NodeJS.Signals; at: number } | undefined;
  let repeatSaid = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (first) {
      // One Ctrl-C brings the same signal twice within moments (npm forwards it): not a second press,
      // so not worth a line. A later or another signal is said once (a key held down sends many).
      const echo = signal === first.signal && performance.now() - first.at < 1_000;
      if (!echo && !repeatSaid) {
        running.deps.logger.info({ signal }, 'already shutting down (it exits within 15 s)');
        repeatSaid = true;
      }
      return;
    }
    first = { signal, at: performance.now() };
    running.deps.logger.info({ signal }, 'shutting down, finishing work in flight');
    const force = setTimeout(() => process.exit(1), shutdownForceExitMs);
    force.unref();
    running.stop().then(
      () => process.exit(0),
      (error) => {
        running.deps.logger.error({ err: error }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  // A promise rejected where nobody awaits it is a bug, but one chat request's bug must not take the
  // whole bot down with every other request in flight: log it loudly and keep serving.
  process.on('unhandledRejection', (reason) => {
    running.deps.logger.error({ err: reason }, 'unhandled promise rejection (a bug): logged, process kept running');
  });
  onSignal = shutdown;
  if (signalled) shutdown(signalled);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
