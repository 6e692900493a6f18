import { dashboardLinkOutcome } from '../dashboard.usecases';
import type { CommandHandler } from './command.models';

/** `/tokens dashboard`: a one-time sign-in link to the web dashboard, for the person typing it only. */
export const tokensDashboardCommand: CommandHandler<'tokens-dashboard'> = async ({ deps, input }) =>
  dashboardLinkOutcome(deps, {
    platform: input.platform,
    org: input.org,
    actor: input.actor,
    replyVisibility: input.replyVisibility,
  });
