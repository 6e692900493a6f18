import { helpMessage } from '../replies.models';
import type { CommandHandler } from './command.models';

/** `/tokens help`: the commands this person may use (admins see theirs too), and the dashboard's button. */
export const tokensHelpCommand: CommandHandler<'tokens-help'> = async (run) => ({
  ok: true,
  reply: helpMessage(run.isAdmin, { dashboard: Boolean(run.deps.config.DASHBOARD_URL) }),
  deliveries: [],
});
