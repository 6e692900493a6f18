import type { Authorize } from '@slack/bolt';
import { LogLevel, type Logger as SlackLogger } from '@slack/logger';
import type { InstallProvider } from '@slack/oauth';
import { WebClient, type WebClientOptions } from '@slack/web-api';
import type { AppDeps } from '../app/module';
import { createKeyRing } from '../lib/secret-box';
import { createInstaller } from './install.oauth';
import { createInstallationStore, type InstallationsDeps } from './installations.usecases';
import { installedWorkspaceClients, type SlackClients, singleWorkspaceClients } from './workspace-clients';

// How the Slack adapter finds its tokens, in each of its two modes: one workspace with SLACK_BOT_TOKEN,
// or distribution (SLACK_CLIENT_ID), where Bolt's installer stores each workspace's installation and
// its authorize reads the one a request belongs to.

export interface SlackWiring {
  /** Bolt's authorize: the token (and bot ids) for the workspace of a request. */
  authorize: Authorize<boolean>;
  /** The token for a workspace when Allot writes first (DMs, digests, edits). */
  clients: SlackClients;
  /** Distribution only: the installer behind /slack/install, and the installations it writes. */
  installer?: InstallProvider;
  installations?: InstallationsDeps;
}

/** One workspace (SLACK_BOT_TOKEN), exactly as before distribution existed. */
export function singleWorkspaceWiring(deps: AppDeps, clientOptions: WebClientOptions, botToken: string): SlackWiring {
  const client = new WebClient(botToken, clientOptions);
  return { authorize: cachedAuthorization(client, botToken, deps), clients: singleWorkspaceClients(client) };
}

/** Every workspace that installs Allot through OAuth, each with its own sealed token. */
export function distributedWiring(deps: AppDeps, clientOptions: WebClientOptions, logger: SlackLogger): SlackWiring {
  const { config } = deps;
  if (!config.SLACK_CLIENT_ID || !config.SLACK_CLIENT_SECRET || !config.SLACK_STATE_SECRET) {
    throw new Error(
      'distribution needs SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET (config checks it)',
    );
  }
  if (!config.ALLOT_ENCRYPTION_KEY) throw new Error('distribution needs ALLOT_ENCRYPTION_KEY (config checks it)');
  const installations: InstallationsDeps = {
    ctx: deps.ctx,
    ring: createKeyRing(config.ALLOT_ENCRYPTION_KEY, config.ALLOT_PREVIOUS_ENCRYPTION_KEYS),
    logger: deps.logger.child({ component: 'slack-installations' }),
  };
  const installer = createInstaller({
    ctx: deps.ctx,
    clientId: config.SLACK_CLIENT_ID,
    clientSecret: config.SLACK_CLIENT_SECRET,
    stateSecret: config.SLACK_STATE_SECRET,
    installationStore: createInstallationStore(installations),
    clientOptions,
    logger,
  });
  return {
    authorize: installer.authorize,
    clients: installedWorkspaceClients(installations, clientOptions),
    installer,
    installations,
  };
}

/** Slack tokens as they appear in text: bot, user, app-level and refresh tokens. */
const slackTokenPattern = /\b(xox[a-z]|xapp)-[A-Za-z0-9-]+/g;
/** A `token` field in a logged payload (Slack still sends its deprecated verification token in each request). */
const tokenFieldPattern = /("token"\s*:\s*)"[^"]*"/g;

/**
 * Bolt's, the installer's and the Socket Mode client's log lines, written through our logger. Anything
 * shaped like a Slack token, any `token` field of a logged payload, and the secrets in `secrets`
 * (client, signing and state secrets) are replaced before a line is written: debug logging of a
 * request or a Web API call must not leak them.
 */
export function boltLogger(deps: AppDeps, secrets: readonly (string | undefined)[]): SlackLogger {
  const child = deps.logger.child({ component: 'bolt' });
  const known = secrets.filter((secret): secret is string => Boolean(secret && secret.length >= 8));
  let level = LogLevel.INFO;
  const text = (parts: unknown[]) => {
    let line = parts.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(' ');
    line = line.replace(slackTokenPattern, '[token]').replace(tokenFieldPattern, '$1"[token]"');
    for (const secret of known) line = line.split(secret).join('[secret]');
    return line;
  };
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
function cachedAuthorization(client: WebClient, botToken: string, deps: AppDeps): Authorize<boolean> {
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
