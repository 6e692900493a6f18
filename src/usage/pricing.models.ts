// Pricing and value, the pure model. The SQL function `allot_ingest_usage`
// (migrations/0001_functions.sql) applies the same arithmetic at ingest, where it is the fast path;
// this module states it in TypeScript for everything else (previews, the money a balance is worth,
// tests), and test/usage/pricing-agreement.test.ts checks on the real database that the two agree.
// Integers throughout: tokens, micro-units (1e-6) of the currency, weights in thousandths.

/** Weights are stored in thousandths: 1 = 1000. */
export const weightScale = 1000;
export const weightMax = 1000;
/** The weight of a category nobody weighted. */
export const weightDefaultThousandths = weightScale;
/** Most money one price may say per million tokens (1,000,000 units of the currency). */
export const priceMicrosPerMillionMax = 1_000_000_000_000n;
/** Currency of prices and costs; costs are integers in micro-units (1e-6) of it. */
export const moneyCurrency = 'USD';

/** A model's price in force at an event's time: micro-units of money per million tokens. */
export interface ModelPrice {
  inputMicrosPerMillion: bigint;
  outputMicrosPerMillion: bigint;
}

/** An event's token counts (each in [0, eventTokensMax]). */
export interface TokenCounts {
  inputTokens: bigint;
  outputTokens: bigint;
}

/**
 * What an event cost, in micro-units: (input x input price + output x output price) / 1e6, rounded
 * half up once (SQL `round(numeric)`, which rounds halves away from zero; every term is ≥ 0). An
 * unpriced model (`price` null) costs 0, as the SQL's `coalesce(…, 0)` says; ingestion reports it.
 */
export function costMicros(tokens: TokenCounts, price: ModelPrice | null): bigint {
  if (!price) return 0n;
  const scaled = tokens.inputTokens * price.inputMicrosPerMillion + tokens.outputTokens * price.outputMicrosPerMillion;
  return (scaled + 500_000n) / 1_000_000n;
}

/**
 * An event's value-weighted tokens: (input + output) x weight, the weight in thousandths (null: the
 * category has none, so 1), rounded half up once: 40,000 tokens at weight 1 are worth exactly 40,000.
 */
export function value(tokens: TokenCounts, weightThousandths: number | null): bigint {
  const weight = BigInt(weightThousandths ?? weightDefaultThousandths);
  return ((tokens.inputTokens + tokens.outputTokens) * weight + 500n) / BigInt(weightScale);
}

/**
 * What `balance` tokens are worth at a rate of `rate.costMicros` per `rate.tokens` (a mix of models
 * over a period), in micro-units, truncated toward zero; null when the rate says nothing (no tokens
 * or no cost). A negative balance (overage) gives a negative worth.
 */
export function moneyWorthMicros(balance: bigint, rate: { tokens: bigint; costMicros: bigint }): bigint | null {
  if (rate.tokens === 0n || rate.costMicros === 0n) return null;
  return (balance * rate.costMicros) / rate.tokens;
}

const decimalPattern = /^\$?(?<int>[0-9]{1,7})(?:\.(?<frac>[0-9]{1,6}))?$/;

/** "2.50" (money per million tokens) → 2_500_000 micro-units; undefined if not a plain amount. */
export function parsePricePerMillion(text: string): bigint | undefined {
  const match = decimalPattern.exec(text.trim());
  if (!match?.groups) return undefined;
  const micros = BigInt(match.groups.int!) * 1_000_000n + BigInt((match.groups.frac ?? '').padEnd(6, '0'));
  return micros <= priceMicrosPerMillionMax ? micros : undefined;
}

export const priceHelp =
  'Type the price in dollars per million tokens, input then output, like: price gpt-4o 2.50 10 (at most 6 decimals).';

/** "1.5" → 1500 thousandths; undefined unless 0 ≤ weight ≤ weightMax with at most 3 decimals. */
export function parseWeight(text: string): number | undefined {
  const match = /^(?<int>[0-9]{1,4})(?:\.(?<frac>[0-9]{1,3}))?$/.exec(text.trim());
  if (!match?.groups) return undefined;
  const thousandths = Number(match.groups.int) * weightScale + Number((match.groups.frac ?? '').padEnd(3, '0'));
  return thousandths <= weightMax * weightScale ? thousandths : undefined;
}

export const weightHelp = `Type a weight from 0 to ${weightMax} with at most 3 decimals, like: weight code 1.5 (default 1).`;

export function formatWeight(thousandths: number): string {
  const whole = Math.floor(thousandths / weightScale);
  const frac = (thousandths % weightScale).toString().padStart(3, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : `${whole}`;
}

/**
 * Money for display, from integer micro-units: "$1,234.57", "$0.0042" below a cent, "$0" for none.
 * Rounded half up at the shown precision; computed on bigints, never floats.
 */
export function formatMoney(micros: bigint, currency = moneyCurrency): string {
  const symbol = currency === 'USD' ? '$' : `${currency} `;
  const negative = micros < 0n;
  const abs = negative ? -micros : micros;
  const sign = negative ? '-' : '';
  if (abs === 0n) return `${symbol}0`;
  if (abs < 10_000n) {
    const tenThousandths = (abs + 50n) / 100n;
    return tenThousandths === 0n
      ? `<${symbol}0.0001`
      : `${sign}${symbol}0.${tenThousandths.toString().padStart(4, '0')}`;
  }
  const cents = (abs + 5_000n) / 10_000n;
  const whole = (cents / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}${symbol}${whole}.${(cents % 100n).toString().padStart(2, '0')}`;
}

/** Price per million tokens as typed: 2500000 → "2.5". */
export function formatPricePerMillion(micros: bigint): string {
  const whole = micros / 1_000_000n;
  const frac = (micros % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : whole.toString();
}

/** Value-weighted tokens per unit of money (per dollar); null when nothing was spent. */
export function valuePerMoney(value: bigint, costMicros: bigint): bigint | null {
  return costMicros > 0n ? (value * 1_000_000n) / costMicros : null;
}
