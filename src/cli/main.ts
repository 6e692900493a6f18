import { Command, CommanderError } from 'commander';
import { packageVersion } from '../lib/project';
import { CliError, cliSettings } from './cli-context';
import { registerDatabaseCommands } from './database.commands';
import { registerLedgerCommands } from './ledger.commands';
import { registerMemberCommands } from './member.commands';
import { registerOrgCommands } from './org.commands';
import { registerScheduleCommands } from './schedule.commands';
import { registerUsageCommands } from './usage.commands';

// Each domain registers its commands from a `*.commands.ts` file beside this one.
const program = new Command('allot')
  .description('Operate Allot: organisations, members, budgets, grants, balances, exports and audits')
  .version(packageVersion(), '-V, --version', 'print the version of Allot')
  .option('--verbose', 'say which database the command opened (on stderr)')
  .showHelpAfterError()
  .exitOverride()
  .hook('preAction', () => {
    cliSettings.verbose = program.opts<{ verbose?: boolean }>().verbose === true;
  });

registerOrgCommands(program);
registerMemberCommands(program);
registerLedgerCommands(program);
registerUsageCommands(program);
registerScheduleCommands(program);
registerDatabaseCommands(program);

try {
  await program.parseAsync(process.argv);
  process.exitCode = 0;
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version exit 0; a usage mistake exits 2 (commander has already printed why).
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else if (error instanceof CliError) {
    console.error(error.message);
    process.exitCode = error.exitCode;
  } else {
    console.error(error);
    process.exitCode = 1;
  }
}
