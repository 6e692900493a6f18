import { App, ExpressReceiver } from '@slack/bolt';
import type { Logger as SlackLogger } from '@slack/logger';
import type { WebClientOptions } from '@slack/web-api';
import express from 'express';
import type { AppDeps, AppModule } from '../app/module';
import { pruneInboundDeliveries } from '../chat/chat.repository';
import { slackModeOf } from '../config/config';
import { mountInstallRoutes } from './install.oauth';
import { missingInstallationKeys } from './installations.usecases';
import { registerInstallationListeners } from './listeners/installation.listeners';
import { registerSlackListeners } from './slack.listeners';
import { createSlackSender } from './slack.sender';
import { boltLogger, distributedWiring, type SlackWiring, singleWorkspaceWiring } from './slack.wiring';
import { createWorkQueue } from './work-queue';

/** The route Slack posts commands, interactivity and events to (pinned in DESIGN.md). */
export const slackEventsPath = '/slack/events';

/**
 * Web API retries: a 429 waits for Retry-After (the WebClient does that itself) and then counts as one
 * retry; network errors back off briefly. Short, because a person is waiting for the answer.
 */
export const slackRetryConfig = { retries: 3, factor: 2, minTimeout: 200, maxTimeout: 2_000, randomize: true };
export const slackApiTimeoutMs = 10_000;
/** Commands, clicks and events worked on at once after their acknowledgement (about the database pool size). */
export const slackWorkConcurrency = 8;
/**
 * How long the keys of handled commands and clicks are kept (inbound_deliveries): longer than Bolt's
 * 5-minute replay window and a Socket Mode redelivery, short enough that the table stays small.
 */
export const slackDeliveryRetentionMs = 60 * 60_000;
const pruneIntervalMs = 10 * 60_000;
/** The delivery keys pruned after slackDeliveryRetentionMs (event ids are kept: Slack retries events for hours). */
const prunedDeliveryPrefixes = ['slack:command:', 'slack:click:', 'slack:view:'] as const;

/**
 * The Slack adapter (Bolt), or null when Slack is not configured: one workspace with SLACK_BOT_TOKEN,
 * or every workspace that installs Allot (SLACK_CLIENT_ID), over HTTP or Socket Mode (SLACK_APP_TOKEN).
 */
export function createSlackModule(deps: AppDeps): AppModule | null {
  const { config } = deps;
  const mode = slackModeOf(config);
  if (mode === 'off') return null;
  const logger = boltLogger(deps, [config.SLACK_CLIENT_SECRET, config.SLACK_STATE_SECRET, config.SLACK_SIGNING_SECRET]);
  const clientOptions = {
    slackApiUrl: config.SLACK_API_URL,
    retryConfig: slackRetryConfig,
    timeout: slackApiTimeoutMs,
  };
  const wiring =
    mode === 'distributed'
      ? distributedWiring(deps, clientOptions, logger)
      : singleWorkspaceWiring(deps, clientOptions, config.SLACK_BOT_TOKEN ?? '');
  const socketMode = Boolean(config.SLACK_APP_TOKEN);
  const router = express.Router();
  const app = createBoltApp(deps, { wiring, router, logger, clientOptions });
  const work = createWorkQueue({
    concurrency: slackWorkConcurrency,
    onError: (error) => deps.logger.error({ err: error }, 'Slack work failed'),
  });
  const track = (job: () => Promise<unknown>) => work.run(job);
  registerSlackListeners(app, { deps, track });
  if (wiring.installations) registerInstallationListeners(app, { deps, installations: wiring.installations, track });
  deps.notifier.register(
    createSlackSender({ clients: wiring.clients, orm: () => deps.ctx.db.orm, logger: deps.logger }),
  );

  let socketStart: Promise<void> | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;
  let pruning: Promise<unknown> = Promise.resolve();
  let keyCheck: Promise<unknown> = Promise.resolve();
  const prune = () => {
    const before = new Date(deps.ctx.clock.now().getTime() - slackDeliveryRetentionMs);
    pruning = Promise.all(
      prunedDeliveryPrefixes.map((prefix) => pruneInboundDeliveries(deps.ctx.db.orm, { prefix, before })),
    ).catch((error) => deps.logger.warn({ err: error }, 'could not prune handled Slack deliveries'));
  };
  return {
    name: 'slack',
    mount(http) {
      if (wiring.installer) mountInstallRoutes(http, wiring.installer);
      if (!socketMode) http.use(router);
    },
    async start() {
      pruneTimer = setInterval(prune, pruneIntervalMs);
      pruneTimer.unref();
      // In the background: start-up (and its signal handlers) must not wait for this check.
      if (wiring.installations) {
        keyCheck = warnOfMissingKeys(deps, wiring.installations).catch((error) =>
          deps.logger.warn({ err: error }, 'could not check the keys of stored Slack installations'),
        );
      }
      if (!socketMode) return;
      // Connecting to Slack must not hold up (or fail) the start of the HTTP API: connect in the background.
      socketStart = app.start().then(
        () => deps.logger.info('Slack Socket Mode connected'),
        (error) => deps.logger.error({ err: error }, 'Slack Socket Mode could not connect; check SLACK_APP_TOKEN'),
      );
    },
    async stop() {
      if (pruneTimer) clearInterval(pruneTimer);
      if (socketMode) {
        // Not waiting for socketStart: a connection still retrying must not hold up shutdown.
        void socketStart;
        await app.stop().catch((error) => deps.logger.warn({ err: error }, 'stopping Socket Mode'));
      }
      // Let listeners that already acknowledged finish their ledger work and replies.
      await work.drain();
      await Promise.all([pruning, keyCheck]);
    },
    idle: () => work.drain(),
  };
}

/** Bolt over Socket Mode (SLACK_APP_TOKEN) or HTTP (its routes on `router`, mounted on the one HTTP server). */
function createBoltApp(
  deps: AppDeps,
  input: { wiring: SlackWiring; router: express.Router; logger: SlackLogger; clientOptions: WebClientOptions },
): App {
  const { config } = deps;
  const { wiring, logger, clientOptions } = input;
  if (config.SLACK_APP_TOKEN) {
    return new App({
      authorize: wiring.authorize,
      appToken: config.SLACK_APP_TOKEN,
      socketMode: true,
      clientOptions,
      // The Socket Mode receiver builds its own WebClient (for apps.connections.open) from these.
      installerOptions: { clientOptions },
      logger,
    });
  }
  return new App({
    authorize: wiring.authorize,
    receiver: new ExpressReceiver({
      signingSecret: config.SLACK_SIGNING_SECRET ?? '',
      endpoints: slackEventsPath,
      router: input.router,
      logger,
      processBeforeResponse: false,
    }),
    clientOptions,
    logger,
  });
}

/** Says at start when stored installations are sealed under keys this process was not given. */
async function warnOfMissingKeys(deps: AppDeps, installations: Parameters<typeof missingInstallationKeys>[0]) {
  const missingKeys = await missingInstallationKeys(installations);
  if (missingKeys.length === 0) deps.logger.info('the encryption keys given open every stored Slack installation');
  for (const missing of missingKeys) {
    deps.logger.error(
      { keyId: missing.keyId, installations: missing.count },
      'Slack installations are encrypted with a key that is neither ALLOT_ENCRYPTION_KEY nor in ' +
        'ALLOT_PREVIOUS_ENCRYPTION_KEYS: those workspaces get no answers until the key is given back',
    );
  }
}
