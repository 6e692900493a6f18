import { usageFailureReplies } from '../../usage/usage.replies';
import { CliError } from '../cli-context';

/** The chat replies say what to type in chat; at the CLI a few say it the CLI's way. */
const cliFailureLines: Record<string, string> = {
  key_not_found: 'No live key has that name; allot apikey list <org> shows them.',
  name_invalid: 'Name the key with letters, digits, . _ or - (up to 63), like: allot apikey create acme ci-gateway',
  operation_invalid:
    'Name the operation as gen_ai.operation.name does, like chat, embeddings or execute_tool (a-z, 0-9, . _ and -).',
  operation_category_not_found: 'No category is set for that operation; allot otlp category list <org> shows them.',
  too_many_operation_categories: 'At most 100 operations may have a category; remove one first.',
};

/**
 * Ends the command (exit 1) with the line for a failure of a usage verb (API keys, prices, weights, OTLP): the
 * CLI's own words, else chat's reply, else the fallback, else the failure code.
 */
export function failed(failure: string, fallback?: string): never {
  throw new CliError(cliFailureLines[failure] ?? usageFailureReplies[failure] ?? fallback ?? `Refused: ${failure}.`);
}
