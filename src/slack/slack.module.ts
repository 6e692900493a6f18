import { App, ExpressReceiver } from '@slack/bolt';
import { LogLevel, type Logger as SlackLogger } from '@slack/logger';
import { WebClient } from '@slack/web-api';
import express from 'express';
import type { AppDeps, AppModule } from '../app/module';
import { registerSlackListeners } from './slack.listeners';
import { createSlackSender } from './slack.sender';
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

/** The Slack adapter (Bolt), or null when Slack is not configured. */
export function createSlackModule(deps: AppDeps): AppModule | null {
  const { config } = deps;
  if (!config.SLACK_BOT_TOKEN) return null;
  const logger = boltLogger(deps);
  const clientOptions = {
    slackApiUrl: config.SLACK_API_URL,
    retryConfig: slackRetryConfig,
    timeout: slackApiTimeoutMs,
  };
  const socketMode = Boolean(config.SLACK_APP_TOKEN);
  const router = express.Router();
  const client = new WebClient(config.SLACK_BOT_TOKEN, clientOptions);
  const authorize = cachedAuthorization(client, config.SLACK_BOT_TOKEN, deps);
  const app = socketMode
    ? new App({
        authorize,
        appToken: config.SLACK_APP_TOKEN,
        socketMode: true,
        clientOptions,
        // The Socket Mode receiver builds its own WebClient (for apps.connections.open) from these.
        installerOptions: { clientOptions },
        logger,
      })
    : new App({
        authorize,
        receiver: new ExpressReceiver({
          signingSecret: config.SLACK_SIGNING_SECRET ?? '',
          endpoints: slackEventsPath,
          router,
          logger,
          processBeforeResponse: false,
        }),
        clientOptions,
        logger,
      });
  const work = createWorkQueue({
    concurrency: slackWorkConcurrency,
    onError: (error) => deps.logger.error({ err: error }, 'Slack work failed'),
  });
  let socketStart: Promise<void> | undefined;
  registerSlackListeners(app, { deps, client, track: (job) => work.run(job) });
  deps.notifier.register(createSlackSender({ client, orm: () => deps.ctx.db.orm, logger: deps.logger }));
  return {
    name: 'slack',
    mount(http) {
      if (!socketMode) http.use(router);
    },
    async start() {
      if (!socketMode) return;
      // Connecting to Slack must not hold up (or fail) the start of the HTTP API: connect in the background.
      socketStart = app.start().then(
        () => deps.logger.info('Slack Socket Mode connected'),
        (error) => deps.logger.error({ err: error }, 'Slack Socket Mode could not connect; check SLACK_APP_TOKEN'),
      );
    },
    async stop() {
      if (socketMode) {
        // Not waiting for socketStart: a connection still retrying must not hold up shutdown.
        void socketStart;
        await app.stop().catch((error) => deps.logger.warn({ err: error }, 'stopping Socket Mode'));
      }
      // Let listeners that already acknowledged finish their ledger work and replies.
      await work.drain();
    },
  };
}

function boltLogger(deps: AppDeps): SlackLogger {
  const child = deps.logger.child({ component: 'bolt' });
  let level = LogLevel.INFO;
  const text = (parts: unknown[]) =>
    parts.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(' ');
  return {
    debug: (...parts: unknown[]) => child.debug(text(parts)),
    info: (...parts: unknown[]) => child.info(text(parts)),
    warn: (...parts: unknown[]) => child.warn(text(parts)),
    error: (...parts: unknown[]) => child.error(text(parts)),
    setLevel: (next: LogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

/**
 * Bolt's single-token mode calls auth.test before every request when verification is deferred, which
 * would put a Web API round trip in front of every acknowledgement. This asks once, in the background,
 * and never makes a request wait: until the answer arrives the bot's own ids are simply unknown.
 */
function cachedAuthorization(client: WebClient, botToken: string, deps: AppDeps) {
  let identity: { botId?: string; botUserId?: string } | undefined;
  let asking: Promise<void> | undefined;
  return async () => {
    if (!identity && !asking) {
      asking = client.auth
        .test()
        .then((answer) => {
          identity = { botId: answer.bot_id, botUserId: answer.user_id };
        })
        .catch((error) => {
          deps.logger.warn({ err: error }, 'auth.test failed; will ask again');
          asking = undefined;
        });
    }
    return { botToken, ...(identity ?? {}) };
  };
}
