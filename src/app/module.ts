import type { Express } from 'express';
import type { Config } from '../config/config';
import type { Ctx } from '../lib/context';
import type { Logger } from '../lib/logger';
import type { Metrics } from '../lib/metrics';
import type { Notifier } from '../notify/notifier';

/** What main.ts hands every module. */
export interface AppDeps {
  config: Config;
  ctx: Ctx;
  logger: Logger;
  metrics: Metrics;
  /** Direct messages to members on any platform; chat modules register their senders. */
  notifier: Notifier;
}

/**
 * A part of the running app (Slack, Teams, the usage API, schedules). It mounts routes on the one
 * HTTP app, starts background work after the server listens, and stops it on shutdown, finishing
 * work in flight.
 */
export interface AppModule {
  name: string;
  mount?(app: Express): void;
  start?(): Promise<void>;
  stop?(): Promise<void>;
  /**
   * Resolves once the module has no work in flight that a request started (replies, DMs after an
   * acknowledgement); background timers do not count. For an orderly wait, e.g. a test that posted a
   * command and reads what the bot sent.
   */
  idle?(): Promise<void>;
}
