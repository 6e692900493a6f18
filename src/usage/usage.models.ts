import { createHash, hash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { operationKeyLengthMax } from '../ledger/ledger.models';
import { instantOfWallTime, type WallTime, wallTimeAt } from '../lib/zoned-time.models';
import type { LeaderboardWindow } from './usage.tables';

// Pure rules of usage metering: the event envelope, its validation and normalisation (including
// OpenTelemetry GenAI attribute names), hashes and keys, prices, weights, periods and money.

/** Most events one request or one batch may carry (the pinned interface says 1000). */
export const eventsPerRequestMax = 1_000;
/** Largest request body accepted by POST /v1/usage. */
export const requestBytesMax = 1024 * 1024;
/** Requests one API key may have in flight at once; more get 429 until one finishes. */
export const requestsInFlightPerKeyMax = 4;
/**
 * Most tokens one event may report (input + output). Far above any model's context, and low enough
 * that a member's whole batch (at most 1000 events) fits one transfer (at most 1e12 tokens).
 */
export const eventTokensMax = 1_000_000_000n;
/** Longest event id (the column's CHECK agrees). */
export const eventIdLengthMax = 255;
export const modelLengthMax = 100;
/** How far in the future an event's time may be (clock skew between sender and Allot). */
export const eventFutureSkewMs = 5 * 60 * 1000;
/** Events older than this are refused: almost certainly a unit mistake (seconds for milliseconds). */
export const eventTimeMin = new Date('2000-01-01T00:00:00Z');
/** Category of an event that names none. */
export const defaultCategory = 'other';
/** Weights are stored in thousandths: 1 = 1000. */
export const weightScale = 1000;
export const weightMax = 1000;
/** Most money one price may say per million tokens (1,000,000 units of the currency). */
export const priceMicrosPerMillionMax = 1_000_000_000_000n;
/** Currency of prices and costs; costs are integers in micro-units (1e-6) of it. */
export const moneyCurrency = 'USD';
/** Bound on price rows listed at once. */
export const pricesListMax = 500;
/** Bound on models listed in a usage-by-model section. */
export const usageModelsListMax = 20;
export const leaderboardTopNMax = 50;
export const apiKeysListMax = 100;

// ---------------------------------------------------------------------------------------------
// events

export const rejectionReasons = [
  'invalid_event',
  'missing_field',
  'invalid_id',
  'invalid_time',
  'time_in_future',
  'invalid_user',
  'invalid_model',
  'invalid_tokens',
  'no_tokens',
  'invalid_category',
  'unknown_user',
  'id_conflict',
] as const;
export type RejectionReason = (typeof rejectionReasons)[number];

export type UserRef =
  | { kind: 'email'; email: string }
  | { kind: 'slack'; userId: string }
  | { kind: 'teams'; objectId: string };

/** A validated event, before its user is resolved to a member. */
export interface UsageEventInput {
  id: string;
  time: Date;
  user: UserRef;
  /** The user as normalised text (lower-cased email, `slack:U…`, `teams:<id>`). */
  userText: string;
  model: string;
  category: string;
  inputTokens: bigint;
  outputTokens: bigint;
}

export type EventParse = { ok: true; event: UsageEventInput } | { ok: false; reason: RejectionReason; message: string };

// Where each field may be found: the pinned envelope's name first, then OpenTelemetry GenAI
// semantic-convention attribute names, so an instrumented client can post its span attributes.
const fieldNames = {
  id: ['id', 'event_id', 'gen_ai.response.id'],
  time: ['time', 'timestamp'],
  user: ['user', 'user.email', 'user.id', 'enduser.id'],
  model: ['model', 'gen_ai.request.model', 'gen_ai.response.model'],
  inputTokens: ['input_tokens', 'gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens'],
  outputTokens: ['output_tokens', 'gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens'],
  category: ['category', 'allot.category'],
} as const;

/** The fields every event must carry, by their pinned names (the OpenTelemetry names count as the same field). */
const requiredFields = ['id', 'time', 'user', 'model', 'inputTokens', 'outputTokens'] as const;

/** The answer for an event without a required field: called missing, with the names it may go by. */
function missingField(field: keyof typeof fieldNames): { reason: RejectionReason; message: string } {
  const [pinned, ...others] = fieldNames[field];
  const alias = others.length > 0 ? ` (or ${others.join(', ')})` : '';
  const none = field === 'inputTokens' || field === 'outputTokens' ? ' (0 when there were none)' : '';
  return { reason: 'missing_field', message: `"${pinned}"${alias} is missing; every event needs it${none}.` };
}

/** What is wrong with the header of a usage CSV: columns no event field goes by, required fields without a column, repeats. */
export interface UsageColumnsProblem {
  unknown: string[];
  missing: string[];
  duplicate: string[];
}

/**
 * Checks the column names of a usage CSV (its first line) against the fields an event may carry, by
 * their pinned names or the OpenTelemetry ones: undefined when every column is known, no name repeats
 * and each required field has a column; otherwise the unknown, missing and repeated names.
 */
export function checkUsageColumns(header: readonly string[]): UsageColumnsProblem | undefined {
  const known = new Set<string>(Object.values(fieldNames).flat());
  const unknown: string[] = [];
  const duplicate: string[] = [];
  const seen = new Set<string>();
  header.forEach((name, index) => {
    if (name.length === 0) unknown.push(`(column ${index + 1} has no name)`);
    else if (!known.has(name)) unknown.push(name);
    if (seen.has(name) && name.length > 0 && !duplicate.includes(name)) duplicate.push(name);
    seen.add(name);
  });
  const missing = requiredFields
    .filter((field) => !fieldNames[field].some((name) => seen.has(name)))
    .map((field) => fieldNames[field][0]);
  return unknown.length + missing.length + duplicate.length > 0 ? { unknown, missing, duplicate } : undefined;
}

function attributesOf(event: Record<string, unknown>): Record<string, unknown> | undefined {
  const attributes = event.attributes;
  return attributes && typeof attributes === 'object' && !Array.isArray(attributes)
    ? (attributes as Record<string, unknown>)
    : undefined;
}

function pick(
  event: Record<string, unknown>,
  attributes: Record<string, unknown> | undefined,
  names: readonly string[],
): unknown {
  for (const name of names) {
    const value = event[name];
    if (value !== undefined && value !== null) return value;
    if (attributes) {
      const attribute = attributes[name];
      if (attribute !== undefined && attribute !== null) return attribute;
    }
  }
  return undefined;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ids with control characters are refused.
const noControlCharacters = /^[^\u0000-\u001f\u007f]*$/;
const emailPattern = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const slackUserPattern = /^slack:([UW][A-Z0-9]{2,31})$/;
const teamsUserPattern = /^teams:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const modelPattern = /^[a-z0-9][a-z0-9._:/@+-]*$/;
const categoryPattern = /^[a-z0-9][a-z0-9_-]{0,39}$/;

const tokenCount = z.union([z.number().int().min(0).max(Number(eventTokensMax)), z.string().regex(/^[0-9]{1,10}$/)]);

const canonicalSchema = z.object({
  id: z.string().min(1).max(eventIdLengthMax).regex(noControlCharacters),
  time: z.union([z.iso.datetime({ offset: true }), z.number().int().positive()]),
  user: z.string().min(3).max(254),
  model: z.string().trim().toLowerCase().min(1).max(modelLengthMax).regex(modelPattern),
  inputTokens: tokenCount,
  outputTokens: tokenCount,
  category: z.string().trim().toLowerCase().regex(categoryPattern).optional(),
});

const reasonByField: Record<string, { reason: RejectionReason; message: string }> = {
  id: {
    reason: 'invalid_id',
    message: `"id" must be a string of 1 to ${eventIdLengthMax} characters without control characters, unique per event.`,
  },
  time: {
    reason: 'invalid_time',
    message: '"time" must be an ISO 8601 time with a zone, like "2026-11-27T09:30:00Z", or milliseconds since 1970.',
  },
  user: {
    reason: 'invalid_user',
    message: '"user" must be an email, "slack:U…" (a Slack user id) or "teams:<Entra object id>".',
  },
  model: {
    reason: 'invalid_model',
    message: `"model" must be a model name like "gpt-4o" (letters, digits, . _ : / @ + -; at most ${modelLengthMax}).`,
  },
  inputTokens: {
    reason: 'invalid_tokens',
    message: '"input_tokens" must be a whole number from 0 to 1,000,000,000.',
  },
  outputTokens: {
    reason: 'invalid_tokens',
    message: '"output_tokens" must be a whole number from 0 to 1,000,000,000.',
  },
  category: {
    reason: 'invalid_category',
    message: '"category" must be a short word like "code", "review", "docs" or "chat" (a-z, 0-9, _ and -).',
  },
};

export function parseUser(text: string): UserRef | undefined {
  const trimmed = text.trim();
  const slack = slackUserPattern.exec(trimmed);
  if (slack) return { kind: 'slack', userId: slack[1]! };
  const teams = teamsUserPattern.exec(trimmed.toLowerCase());
  if (teams) return { kind: 'teams', objectId: teams[1]! };
  const email = trimmed.toLowerCase();
  if (!email.startsWith('slack:') && !email.startsWith('teams:') && emailPattern.test(email) && email.length <= 254) {
    return { kind: 'email', email };
  }
  return undefined;
}

export function userRefText(user: UserRef): string {
  switch (user.kind) {
    case 'email':
      return user.email;
    case 'slack':
      return `slack:${user.userId}`;
    case 'teams':
      return `teams:${user.objectId}`;
  }
}

/** Validates one event of a batch, accepting the pinned names and the OpenTelemetry GenAI ones. */
export function parseUsageEvent(raw: unknown, now: Date): EventParse {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    return {
      ok: false,
      reason: 'invalid_event',
      message: 'Each event must be an object like {"id","time","user","model","input_tokens","output_tokens"}.',
    };
  }
  const event = raw as Record<string, unknown>;
  const attributes = attributesOf(event);
  const canonical = {
    id: pick(event, attributes, fieldNames.id),
    time: pick(event, attributes, fieldNames.time),
    user: pick(event, attributes, fieldNames.user),
    model: pick(event, attributes, fieldNames.model),
    inputTokens: pick(event, attributes, fieldNames.inputTokens),
    outputTokens: pick(event, attributes, fieldNames.outputTokens),
    category: pick(event, attributes, fieldNames.category),
  };
  const absent = requiredFields.find((field) => canonical[field] === undefined);
  if (absent) return { ok: false, ...missingField(absent) };
  const parsed = canonicalSchema.safeParse(canonical);
  if (!parsed.success) {
    const field = String(parsed.error.issues[0]?.path[0] ?? 'id');
    const known = reasonByField[field] ?? reasonByField.id!;
    return { ok: false, ...known };
  }
  const value = parsed.data;
  const user = parseUser(value.user);
  if (!user) return { ok: false, ...reasonByField.user! };
  const time = new Date(value.time);
  if (Number.isNaN(time.getTime()) || time < eventTimeMin) {
    return {
      ok: false,
      reason: 'invalid_time',
      message: `"time" must be after ${eventTimeMin.toISOString().slice(0, 10)}; numbers are milliseconds since 1970.`,
    };
  }
  if (time.getTime() > now.getTime() + eventFutureSkewMs) {
    return {
      ok: false,
      reason: 'time_in_future',
      message: `"time" is in the future (Allot's clock says ${now.toISOString()}); send the time the usage happened.`,
    };
  }
  const inputTokens = BigInt(value.inputTokens);
  const outputTokens = BigInt(value.outputTokens);
  if (inputTokens + outputTokens === 0n) {
    return {
      ok: false,
      reason: 'no_tokens',
      message: 'The event reports no tokens: send input_tokens or output_tokens above 0.',
    };
  }
  if (inputTokens + outputTokens > eventTokensMax) {
    return {
      ok: false,
      reason: 'invalid_tokens',
      message: 'input_tokens + output_tokens must be at most 1,000,000,000.',
    };
  }
  return {
    ok: true,
    event: {
      id: value.id,
      time,
      user,
      userText: userRefText(user),
      model: value.model,
      category: value.category ?? defaultCategory,
      inputTokens,
      outputTokens,
    },
  };
}

/** The friendly answer to a body that is not the envelope at all. */
export const envelopeHelp =
  'Send JSON like {"events":[{"id":"evt-1","time":"2026-11-27T09:30:00Z","user":"ana@example.com",' +
  '"model":"gpt-4o","input_tokens":1200,"output_tokens":300,"category":"code"}]} with at most ' +
  `${eventsPerRequestMax} events; OpenTelemetry names (gen_ai.request.model, gen_ai.usage.input_tokens, ` +
  'gen_ai.usage.output_tokens) are accepted in place of model, input_tokens and output_tokens.';

export const rejectionMessages: Record<'unknown_user' | 'id_conflict', string> = {
  unknown_user:
    'No member of this organisation has that email or chat id; add them (or link their email) first. Events never create members.',
  id_conflict: 'This id was already used for an event with other content; send each distinct event with a new id.',
};

/**
 * What makes two events with the same id the same event: the hash of their content, the user as
 * sent (so a replay is recognised before any member is looked up).
 */
export function hashEventContent(event: UsageEventInput): string {
  const canonical = JSON.stringify([
    event.time.toISOString(),
    event.userText,
    event.model,
    event.category,
    event.inputTokens.toString(),
    event.outputTokens.toString(),
  ]);
  return hash('sha256', canonical, 'base64url');
}

/**
 * The id an event names, read as parseUsageEvent reads it (pinned name first, then the OpenTelemetry
 * ones, flat or under `attributes`), before any validation; undefined when it is not a string.
 */
export function rawEventId(raw: unknown): string | undefined {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const event = raw as Record<string, unknown>;
  const id = pick(event, attributesOf(event), fieldNames.id);
  return typeof id === 'string' && id.length > 0 && id.length <= eventIdLengthMax ? id : undefined;
}

/**
 * The hash of an event exactly as it was sent (its JSON text): an event whose id is stored with the
 * same raw hash is byte for byte the event that was accepted, so a replay is answered without
 * validating it again. Any other spelling of the same content (keys reordered, another time format)
 * misses this and takes the full path, where the content hash decides. Undefined when the event
 * cannot be written as JSON.
 */
export function hashRawEvent(raw: unknown): string | undefined {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  let text: string | undefined;
  try {
    text = JSON.stringify(raw);
  } catch {
    return undefined;
  }
  return text === undefined ? undefined : hash('sha256', text, 'base64url');
}

/**
 * The smallest batch worth a digest: a digest saves a resent batch one index probe per event but
 * costs a row for every batch accepted, so a small batch (a script reporting each call) is cheaper
 * to judge event by event.
 */
export const batchDigestEventsMin = 10;

/**
 * The digest of a batch as sent: the hash of its events' raw hashes in order; undefined for a batch
 * below batchDigestEventsMin, or when an event has no usable id or cannot be written as JSON (such
 * batches always take the per-event path).
 */
export function batchDigest(rawIds: readonly (string | undefined)[], rawHashes: readonly (string | undefined)[]) {
  if (
    rawIds.length < batchDigestEventsMin ||
    rawIds.some((id) => id === undefined) ||
    rawHashes.some((h) => h === undefined)
  ) {
    return undefined;
  }
  return hash('sha256', rawHashes.join('\n'), 'base64url');
}

const usageKeyPrefix = 'usage:';

/**
 * The idempotency key of the `usage` transfer of an event: `usage:<event id>`, or, for ids too long
 * to carry the prefix, `usage#<sha-256 of the id>`. Derived from the event id alone, so a replay
 * never debits twice, and prefixed so it cannot collide with a chat trigger or activity id.
 */
export function usageOperationKey(eventId: string): string {
  const key = `${usageKeyPrefix}${eventId}`;
  return key.length <= operationKeyLengthMax
    ? key
    : `usage#${createHash('sha256').update(eventId).digest('base64url')}`;
}

// ---------------------------------------------------------------------------------------------
// API keys

export const apiKeyPrefix = 'allot_';
const apiKeyVisibleLength = apiKeyPrefix.length + 6;
const apiKeyNamePattern = /^[a-z0-9][a-z0-9_.-]{0,62}$/i;
const apiKeyPattern = /^allot_[A-Za-z0-9_-]{43}$/;

export function generateApiKey(): { key: string; hash: string; prefix: string } {
  const key = `${apiKeyPrefix}${randomBytes(32).toString('base64url')}`;
  return { key, hash: hashApiKey(key), prefix: key.slice(0, apiKeyVisibleLength) };
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function looksLikeApiKey(text: string): boolean {
  return apiKeyPattern.test(text);
}

export function isValidApiKeyName(name: string): boolean {
  return apiKeyNamePattern.test(name);
}

// ---------------------------------------------------------------------------------------------
// prices, weights and money

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

export function isValidCategory(category: string): boolean {
  return categoryPattern.test(category);
}

export function normaliseModel(model: string): string | undefined {
  const text = model.trim().toLowerCase();
  return text.length > 0 && text.length <= modelLengthMax && modelPattern.test(text) ? text : undefined;
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

// ---------------------------------------------------------------------------------------------
// periods, in the organisation's time zone

/** A local calendar date in a zone (from src/lib/zoned-time.models.ts, the one place for zone arithmetic). */
export type LocalDate = Pick<WallTime, 'year' | 'month' | 'day' | 'weekday'>;

export function localDate(at: Date, timeZone: string): LocalDate {
  return wallTimeAt(at, timeZone);
}

function isoDay(year: number, month: number, day: number): string {
  return new Date(Date.UTC(year, month - 1, day)).toISOString().slice(0, 10);
}

/** The current week (from Monday), month or quarter at `at`, as local dates [start, end). */
export function currentPeriod(window: LeaderboardWindow, at: Date, timeZone: string): { start: string; end: string } {
  const local = localDate(at, timeZone);
  switch (window) {
    case 'week': {
      const start = local.day - (local.weekday - 1);
      return { start: isoDay(local.year, local.month, start), end: isoDay(local.year, local.month, start + 7) };
    }
    case 'month':
      return { start: isoDay(local.year, local.month, 1), end: isoDay(local.year, local.month + 1, 1) };
    case 'quarter': {
      const first = Math.floor((local.month - 1) / 3) * 3 + 1;
      return { start: isoDay(local.year, first, 1), end: isoDay(local.year, first + 3, 1) };
    }
  }
}

/** The alert period: the organisation-local month, e.g. "2026-11". */
export function alertPeriod(at: Date, timeZone: string): string {
  return currentPeriod('month', at, timeZone).start.slice(0, 7);
}

/** Start of a local date ("2026-11-01") in the zone, as an instant (for comparing with transfer times). */
export function zonedDayStart(day: string, timeZone: string): Date {
  const [year, month, date] = day.split('-').map(Number);
  return instantOfWallTime(timeZone, { year: year!, month: month!, day: date! });
}

// ---------------------------------------------------------------------------------------------
// low-balance thresholds

export const defaultAlertPercents = [20, 5] as const;

export type AlertThreshold = `left_${number}` | 'overage';

/**
 * The thresholds a wallet is at or past after a debit, most severe first: `overage` below zero;
 * `left_P` at P % or less of what it received this period (nothing percent-based when it received
 * nothing). The alert log then lets each fire once per period, so a threshold crossed while no DM
 * could be sent (a CSV import at the CLI) is still announced by the next debit.
 */
export function thresholdsReached(input: {
  after: bigint;
  receivedThisPeriod: bigint;
  percents: readonly number[];
}): AlertThreshold[] {
  const reached: AlertThreshold[] = [];
  if (input.after < 0n) reached.push('overage');
  if (input.receivedThisPeriod > 0n) {
    for (const percent of [...input.percents].sort((a, b) => a - b)) {
      const limit = (input.receivedThisPeriod * BigInt(Math.round(percent * 100))) / 10_000n;
      if (input.after <= limit) reached.push(`left_${percent}`);
    }
  }
  return reached;
}
