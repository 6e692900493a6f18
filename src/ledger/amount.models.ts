import { transferTokensMax } from './ledger.tables';

export type AmountParse = { ok: true; amount: bigint } | { ok: false; failure: 'amount_invalid'; message: string };

/** Longest text we try to read as an amount; anything longer is refused without parsing. */
const amountTextLengthMax = 32;

const suffixMultipliers: Record<string, bigint> = {
  '': 1n,
  k: 1_000n,
  m: 1_000_000n,
  b: 1_000_000_000n,
};

/**
 * The spaces that may separate groups of digits inside one word: no-break (U+00A0), narrow no-break
 * (U+202F, the French and CLDR grouping space) and thin (U+2009). Slack and Teams pass them through when
 * a formatted number is pasted; a typed space (U+0020) separates words instead (see splitCommandWords in
 * src/chat/grammar.models.ts).
 */
export const groupingSpaces = '\u00a0\u202f\u2009';

// Plain digits, or digits grouped by three with commas or spaces ("50,000", "50 000" with a no-break
// space), an optional decimal part, and an optional k / M / B suffix. One separator throughout. An
// ordinary space is accepted only where it cannot have come from two words: inside one CLI argument
// typed in quotes. ASCII digits only: "١٢" and "０" are refused.
const amountPattern =
  /^(?<int>[0-9]{1,3}(?:(?<sep>[, \u00a0\u202f\u2009])[0-9]{3})(?:\k<sep>[0-9]{3})*|[0-9]+)(?:\.(?<frac>[0-9]+))?(?<suffix>[kKmMbB])?$/;

export const amountHelp = 'Type a whole number of tokens, like 50000, 50k, 1.5M or 50,000.';

export function formatTokens(amount: bigint): string {
  const negative = amount < 0n;
  const digits = (negative ? -amount : amount).toString();
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return negative ? `-${grouped}` : grouped;
}

/** Strictly parses an amount of tokens typed by a person. */
export function parseAmount(input: string): AmountParse {
  const text = input.trim();
  const shown = text.length > amountTextLengthMax ? `${text.slice(0, amountTextLengthMax)}…` : text;
  const refuse = (why: string): AmountParse => ({
    ok: false,
    failure: 'amount_invalid',
    message: `“${shown}” ${why} ${amountHelp}`,
  });
  if (text.length === 0) return { ok: false, failure: 'amount_invalid', message: `No amount given. ${amountHelp}` };
  if (text.length > amountTextLengthMax) return refuse('is too long to be an amount.');
  if (text.startsWith('-')) return refuse('is negative; amounts are positive.');
  const match = amountPattern.exec(text);
  if (!match?.groups) return refuse('is not an amount I can read.');
  const { int = '', frac = '', suffix = '' } = match.groups;
  const multiplier = suffixMultipliers[suffix.toLowerCase()] ?? 1n;
  const wholeDigits = int.replace(/[^0-9]/g, '');
  // amount = (int.frac) × multiplier, which must be a whole number of tokens.
  const scale = 10n ** BigInt(frac.length);
  const scaled = BigInt(wholeDigits + frac) * multiplier;
  if (scaled % scale !== 0n) {
    return refuse(suffix ? 'is not a whole number of tokens.' : 'has a fraction; tokens are whole.');
  }
  const amount = scaled / scale;
  if (amount === 0n) return refuse('is zero; amounts start at 1.');
  if (amount > transferTokensMax)
    return refuse(`is more than the most one transfer may move (${formatTokens(transferTokensMax)}).`);
  return { ok: true, amount };
}

/** What comes after the amount in a command, for the wording of an ambiguity. */
export type AfterAmount = 'reason' | 'member' | 'other';

export type LeadingAmount =
  | { ok: true; amount: bigint }
  | { ok: false; failure: 'amount_invalid'; message: string }
  | {
      ok: false;
      failure: 'amount_ambiguous';
      message: string;
      /** The two readings: the amount alone, and the amount with the next word as its continuation. */
      readings: { alone: bigint; joined: { typed: string; amount: bigint | null } };
    };

/** An amount written in plain 1–3 digits or in digit groups, which another group of three could continue. */
const continuableAmount = /^[0-9]{1,3}(?:[, \u00a0\u202f\u2009][0-9]{3})*$/;
/** A word that begins with a group of exactly three digits, alone or continued by a group, decimals or a suffix. */
const continuationWord = /^[0-9]{3}(?:$|[kKmMbB](?![\p{L}\p{N}])|[.,\u00a0\u202f\u2009][0-9])/u;
/** Longest part of the following words quoted back in an ambiguity message. */
const quotedWordsLengthMax = 60;

/**
 * The amount rule of every command that takes an amount, chat and CLI alike. `words[0]` is the amount
 * as typed, one word (a space inside it can only be a grouping space, see `groupingSpaces`); `words[1…]`
 * are the words after it. An amount never takes in the word after it. When that word could also be read
 * as the amount's continuation — the amount is written in plain 1–3 digits or digit groups (no
 * decimals, no suffix) and the next word begins with a group of exactly three digits, as in
 * `50 100 commits`, `50,000 100 commits` or `1 000k` — nothing is guessed: the answer is
 * `amount_ambiguous`, whose message shows both readings and what to type for each. `50k 3 PRs merged`,
 * `50000 100 commits` and `50 apples` are not ambiguous. `after` names what follows the amount in this
 * command, for that message. The reason for refusing rather than joining: "50 100 commits reviewed"
 * once granted 50,100 tokens (issue #11) — a different amount than anyone typed as a number.
 */
export function readLeadingAmount(words: readonly string[], after: AfterAmount): LeadingAmount {
  const [first = '', next, ...more] = words;
  const parsed = parseAmount(first);
  if (!parsed.ok) return parsed;
  const typed = first.trim();
  if (next === undefined || !continuableAmount.test(typed) || !continuationWord.test(next)) return parsed;
  const joinedTyped = `${typed}${next}`.replace(/[, \u00a0\u202f\u2009]/g, '');
  const joined = parseAmount(joinedTyped);
  const joinedShown = joined.ok ? `${formatTokens(joined.amount)} tokens` : joinedTyped;
  const alone = `${formatTokens(parsed.amount)} token${parsed.amount === 1n ? '' : 's'}`;
  const rest = [next, ...more].join(' ');
  const restShown = rest.length > quotedWordsLengthMax ? `${rest.slice(0, quotedWordsLengthMax)}…` : rest;
  const question = `“${typed} ${next}” could be one amount, ${joinedShown}, or ${alone}`;
  const forJoined = `For ${joinedShown} type ${joinedTyped}`;
  let message: string;
  switch (after) {
    case 'reason':
      message =
        `${question} with a reason that starts with “${next}”, so nothing was done. ${forJoined}; ` +
        `for ${alone} put a word before the reason, like: ${typed} for ${restShown}`;
      break;
    case 'member':
      message =
        `${question} to member ${next}, so nothing was done. ${forJoined}; ` +
        `for ${alone} each, name member ${next} by email.`;
      break;
    case 'other':
      message = `${question} followed by “${next}”, so nothing was done. ${forJoined}.`;
      break;
  }
  return {
    ok: false,
    failure: 'amount_ambiguous',
    message,
    readings: { alone: parsed.amount, joined: { typed: joinedTyped, amount: joined.ok ? joined.amount : null } },
  };
}
