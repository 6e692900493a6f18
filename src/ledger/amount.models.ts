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

// Plain digits, or digits grouped by three with commas or spaces ("50,000", "50 000"), an optional
// decimal part, and an optional k / M / B suffix. ASCII digits only: "١٢" and "０" are refused.
const amountPattern =
  /^(?<int>[0-9]{1,3}(?:(?<sep>[, \u00a0\u202f])[0-9]{3})(?:\k<sep>[0-9]{3})*|[0-9]+)(?:\.(?<frac>[0-9]+))?(?<suffix>[kKmMbB])?$/;

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
