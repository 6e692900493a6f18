import { Command } from 'commander';
import { CliError } from './cli-context';

// Each domain registers its commands from a `*.commands.ts` file beside this one.
const program = new Command('allot')
  .description('Operate Allot: organisations, members, budgets, grants, balances, exports and audits')
  .showHelpAfterError();

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CliError) {
    console.error(error.message);
    process.exit(error.exitCode);
  }
  throw error;
}
