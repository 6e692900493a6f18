import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type ConfigurationBotFrameworkAuthenticationOptions,
  type TurnContext,
} from 'botbuilder';
import express from 'express';
import type { AppDeps, AppModule } from '../app/module';
import { pruneInboundDeliveries } from '../chat/chat.repository';
import type { Config } from '../config/config';
import { teamsAccess, teamsAccessGuard, teamsMessagesPath } from './teams.access';
import { createTeamsChatCore, type TeamsChatCore } from './teams.core';
import type { RetryPolicy } from './teams.delivery';
import { TeamsTurnHandler } from './teams.handler';
import { TeamsOutbound } from './teams.outbound';
import { TeamsSender } from './teams.sender';

/** Largest activity accepted on /api/messages; Teams activities are a few kilobytes. */
const activityBodyLimit = '512kb';
/** How long a handled activity id is remembered; Teams redelivers within minutes. */
export const processedActivityRetentionMs = 7 * 24 * 60 * 60 * 1000;
const pruneIntervalMs = 60 * 60 * 1000;

/** The configuration botbuilder reads, from Allot's MICROSOFT_APP_* settings. */
export function botFrameworkAuthOptions(config: Config): ConfigurationBotFrameworkAuthenticationOptions {
  if (!config.MICROSOFT_APP_ID) return {};
  return {
    MicrosoftAppId: config.MICROSOFT_APP_ID,
    MicrosoftAppPassword: config.MICROSOFT_APP_PASSWORD,
    MicrosoftAppType: config.MICROSOFT_APP_TYPE,
    MicrosoftAppTenantId: config.MICROSOFT_APP_TENANT_ID,
  };
}

/**
 * botbuilder's connector client retries 429 and 5xx on its own (three times, seconds apart). Allot
 * retries in one place (teams.delivery.ts), bounded and jittered, so the SDK's policy is taken out of
 * each turn's connector pipeline.
 */
function removeSdkRetries(adapter: CloudAdapter, context: TurnContext): void {
  const connector = context.turnState.get(adapter.ConnectorClientKey) as
    | { client?: { pipeline?: { removePolicy(options: { name: string }): unknown } } }
    | undefined;
  connector?.client?.pipeline?.removePolicy({ name: 'defaultRetryPolicy' });
}

export interface TeamsModuleOptions {
  core?: TeamsChatCore;
  retryPolicy?: RetryPolicy;
}

/**
 * The Teams adapter: botbuilder CloudAdapter on POST /api/messages, and proactive sends for the notifier.
 * Without MICROSOFT_APP_ID it is only created with TEAMS_ALLOW_UNAUTHENTICATED, and then lets in
 * activities from loopback addresses only (teams.access.ts).
 */
export function createTeamsModule(deps: AppDeps, options: TeamsModuleOptions = {}): AppModule {
  const { config, logger } = deps;
  const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication(botFrameworkAuthOptions(config)));
  adapter.use(async (context, next) => {
    removeSdkRetries(adapter, context);
    await next();
  });
  adapter.onTurnError = async (context, error) => {
    // Logged, never rethrown: one bad turn must not take the process (or other turns) down.
    logger.error(
      { err: error, activityType: context.activity.type, activityId: context.activity.id },
      'Teams turn failed',
    );
    if (context.activity.type === 'message') {
      try {
        await context.sendActivity(
          'Something went wrong on my side. Type "balance" to see where things stand before trying again.',
        );
      } catch (sendError) {
        logger.warn({ err: sendError }, 'could not tell the person about the failed turn');
      }
    }
  };

  const outbound = new TeamsOutbound(logger, options.retryPolicy);
  const handler = new TeamsTurnHandler(deps, options.core ?? createTeamsChatCore(deps), outbound);
  const botAppId = config.MICROSOFT_APP_ID ?? '';
  deps.notifier.register(new TeamsSender({ ctx: deps.ctx, logger, adapter, botAppId, outbound }));

  let pruneTimer: NodeJS.Timeout | undefined;
  let pruning: Promise<unknown> = Promise.resolve();
  const prune = () => {
    const before = new Date(deps.ctx.clock.now().getTime() - processedActivityRetentionMs);
    pruning = pruneInboundDeliveries(deps.ctx.db.orm, { prefix: 'teams:', before }).catch((error) =>
      logger.warn({ err: error }, 'could not prune handled Teams activities'),
    );
  };

  return {
    name: 'teams',
    async start() {
      pruneTimer = setInterval(prune, pruneIntervalMs);
      pruneTimer.unref();
    },
    async stop() {
      if (pruneTimer) clearInterval(pruneTimer);
      await pruning;
    },
    mount(app) {
      const guard = teamsAccessGuard(teamsAccess(config));
      app.post(teamsMessagesPath, guard, express.json({ limit: activityBodyLimit }), async (req, res) => {
        // botbuilder throws (a 500) on a body without an activity type; that is the sender's mistake.
        const body = req.body as { type?: unknown } | undefined;
        if (!body || typeof body !== 'object' || Array.isArray(body) || typeof body.type !== 'string') {
          res.status(400).json({ error: 'bad_request', detail: 'expected a Bot Framework activity with a type' });
          return;
        }
        try {
          await adapter.process(req, res, (context) => handler.run(context));
        } catch (error) {
          logger.error({ err: error }, 'Teams request failed outside a turn');
          if (!res.headersSent) res.status(500).end();
        }
      });
    },
  };
}
