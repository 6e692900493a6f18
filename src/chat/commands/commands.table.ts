import { balanceCommand } from './balance.command';
import type { CommandHandler, CommandName, CommandOf, CommandRun, CommandTable } from './command.models';
import { grantTokensCommand } from './grant-tokens.command';
import { leaderboardCommand } from './leaderboard.command';
import { requestTokensCommand } from './request-tokens.command';
import { tokensAllowanceCommand } from './tokens-allowance.command';
import { tokensApproveCommand } from './tokens-approve.command';
import { tokensBudgetCommand } from './tokens-budget.command';
import { tokensDashboardCommand } from './tokens-dashboard.command';
import { tokensDefaultExpiryCommand } from './tokens-default-expiry.command';
import { tokensDigestCommand } from './tokens-digest.command';
import { tokensHelpCommand } from './tokens-help.command';
import { tokensManagerCommand } from './tokens-manager.command';
import { tokensRoleCommand } from './tokens-role.command';
import { tokensUsageCommand } from './tokens-usage.command';

/** One handler per command name; a command added to ParsedCommand fails the build until it is here. */
export const commandHandlers: CommandTable = {
  'grant-tokens': grantTokensCommand,
  balance: balanceCommand,
  'request-tokens': requestTokensCommand,
  leaderboard: leaderboardCommand,
  'tokens-help': tokensHelpCommand,
  'tokens-dashboard': tokensDashboardCommand,
  'tokens-role': tokensRoleCommand,
  'tokens-manager': tokensManagerCommand,
  'tokens-budget': tokensBudgetCommand,
  'tokens-approve': tokensApproveCommand,
  'tokens-default-expiry': tokensDefaultExpiryCommand,
  'tokens-digest': tokensDigestCommand,
  'tokens-allowance': tokensAllowanceCommand,
  'tokens-usage': tokensUsageCommand,
};

/** Runs a parsed command through its handler. */
export function dispatchCommand<K extends CommandName>(run: CommandRun, command: CommandOf<K>) {
  // TypeScript cannot correlate the table's key with the command's variant; the table's type above does.
  const handler = commandHandlers[command.name as K] as CommandHandler<K>;
  return handler(run, command);
}
