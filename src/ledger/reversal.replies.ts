import type { ReverseFailure } from './reversal.usecases';

/**
 * Words for the refusals of a reversal that read the same wherever it was asked (the CLI's
 * `allot reverse`, the dashboard's ledger page); each surface words the others itself (who may
 * reverse, how to find a transfer, what it holds). Since lots (issue 16), a reversal of a grant, top-up
 * or allowance takes back only what remains of it: spent tokens are `nothing_left` (or a smaller
 * reversal), never `exceeds_balance`, which is left to tokens held by AI calls in flight.
 */
export const reversalRefusalLines = {
  cannot_reverse_reversal: 'A reversal cannot itself be reversed; post a new grant or budget instead.',
  already_reversed: 'That transfer was already reversed; a transfer is reversed at most once.',
  nothing_left:
    'Nothing of that transfer is left to reverse: its tokens were all spent or expired, and what was spent stays spent.',
} as const satisfies Partial<Record<ReverseFailure, string>>;
