import { usageFailureReplies } from '../../usage/usage.replies';
import { CliError } from '../cli-context';

/** The chat replies say what to type in chat; at the CLI a few say it the CLI's way. */
const cliFailureLines: Record<string, string> = {
  key_not_found: 'No live key has that name; allot apikey list <org> shows them.',
  name_invalid: 'Name the key with letters, digits, . _ or - (up to 63), like: allot apikey create acme ci-gateway',
};

/**
 * Ends the command (exit 1) with the line for a failure of a usage verb (API keys, prices, weights): the
 * CLI's own words, else chat's reply, else the fallback, else the failure code.
 */
export function failed(failure: string, fallback?: string): never {
  throw new CliError(cliFailureLines[failure] ?? usageFailureReplies[failure] ?? fallback ?? `Refused: ${failure}.`);
}
