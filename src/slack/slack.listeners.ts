import type { App } from '@slack/bolt';
import { registerActionListeners } from './listeners/actions.listeners';
import { registerCommandListeners } from './listeners/commands.listeners';
import { registerEventListeners } from './listeners/events.listeners';
import { createListenerKit, type SlackListenerDeps } from './listeners/slack-listener.kit';
import { registerViewListeners } from './listeners/views.listeners';

export type { SlackListenerDeps };

/**
 * Registers every Slack listener on the app: slash commands, buttons, modal submissions and events,
 * one file each under listeners/. Every listener acknowledges first (Slack's 3-second deadline holds
 * whatever the database is doing) and then does the work, answering through response_url, the Web
 * API or the Home tab.
 */
export function registerSlackListeners(app: App, listener: SlackListenerDeps): void {
  const kit = createListenerKit(listener);
  registerCommandListeners(app, kit);
  registerActionListeners(app, kit);
  registerViewListeners(app, kit);
  registerEventListeners(app, kit);
  app.error(async (error) => {
    listener.deps.logger.error({ err: error }, 'Bolt reported an error');
  });
}
