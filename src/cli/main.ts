import { Command, CommanderError } from 'commander';
import { packageVersion } from '../lib/project';
import { CliError, cliSettings } from './cli-context';
import { registerAllowanceCommands } from './commands/allowance.commands';
import { registerApikeyCommands } from './commands/apikey.commands';
import { registerDashboardCommands } from './commands/dashboard.commands';
import { registerDatabaseCommands } from './commands/database.commands';
import { registerDigestCommands } from './commands/digest.commands';
import { registerKeysCommands } from './commands/keys.commands';
import { registerLedgerCommands } from './commands/ledger.commands';
import { registerMemberCommands } from './commands/member.commands';
import { registerOrgCommands } from './commands/org.commands';
import { registerOtlpCommands } from './commands/otlp.commands';
import { registerPriceCommands } from './commands/price.commands';
import { registerRequestCommands } from './commands/request.commands';
import { registerUsageCommands } from './commands/usage.commands';
import { registerWeightCommands } from './commands/weight.commands';

// Each command group registers its commands from its own file in commands/, one function per command;
// the order of the calls below is the order `allot --help` lists them.
const program = new Command('allot')
  .description('Operate Allot: organisations, members, budgets, grants, balances, exports and audits')
  .version(packageVersion(), '-V, --version', 'print the version of Allot')
  .option('--verbose', 'say which database the command opened (on stderr)')
  // After a usage mistake commander prints the error and its suggestion; one more line, not the whole help.
  .showHelpAfterError('Run allot --help for the commands, or allot <command> --help for one.')
  .exitOverride()
  .hook('preAction', () => {
    cliSettings.verbose = program.opts<{ verbose?: boolean }>().verbose === true;
  });

registerOrgCommands(program);
registerMemberCommands(program);
registerLedgerCommands(program);
registerRequestCommands(program);
registerApikeyCommands(program);
registerUsageCommands(program);
registerPriceCommands(program);
registerWeightCommands(program);
registerOtlpCommands(program);
registerAllowanceCommands(program);
registerDigestCommands(program);
registerDashboardCommands(program);
registerDatabaseCommands(program);
registerKeysCommands(program);

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
