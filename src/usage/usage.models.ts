import { hash } from 'node:crypto';
import {
  categoryPattern,
  checkEventFields,
  type EventFields,
  eventIdLengthMax,
  modelLengthMax,
  modelPattern,
  tokenFieldMax,
} from './event-fields.models';

// Pure rules of usage metering: the event envelope, its validation and normalisation (including
// OpenTelemetry GenAI attribute names) and the content hash that says two events are the same.
// Elsewhere: replay hashes and the usage transfer's key in replay.models.ts, API keys in
// api-keys.models.ts, prices, weights and money in pricing.models.ts, "near the limit" in
// limits.models.ts, periods in src/lib/periods.models.ts.

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
export const eventTokensMax = BigInt(tokenFieldMax);
export { eventIdLengthMax, modelLengthMax };
/** How far in the future an event's time may be (clock skew between sender and Allot). */
export const eventFutureSkewMs = 5 * 60 * 1000;
/** Events older than this are refused: almost certainly a unit mistake (seconds for milliseconds). */
export const eventTimeMin = new Date('2000-01-01T00:00:00Z');
/** Category of an event that names none. */
export const defaultCategory = 'other';
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

/**
 * A validated event, or why not: `field` names the field at fault by its pinned name (`time`,
 * `input_tokens`, …) when one is, so an API can answer "400 naming the field".
 */
export type EventParse =
  | { ok: true; event: UsageEventInput }
  | { ok: false; reason: RejectionReason; message: string; field?: string };

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
function missingField(field: keyof typeof fieldNames): { reason: RejectionReason; message: string; field: string } {
  const [pinned, ...others] = fieldNames[field];
  const alias = others.length > 0 ? ` (or ${others.join(', ')})` : '';
  const none = field === 'inputTokens' || field === 'outputTokens' ? ' (0 when there were none)' : '';
  return {
    reason: 'missing_field',
    message: `"${pinned}"${alias} is missing; every event needs it${none}.`,
    field: pinned,
  };
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

const emailPattern = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const slackUserPattern = /^slack:([UW][A-Z0-9]{2,31})$/;
const teamsUserPattern = /^teams:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

const reasonByField: Record<keyof EventFields, { reason: RejectionReason; message: string; field: string }> = {
  id: {
    field: 'id',
    reason: 'invalid_id',
    message: `"id" must be a string of 1 to ${eventIdLengthMax} characters without control characters, unique per event.`,
  },
  time: {
    field: 'time',
    reason: 'invalid_time',
    message: '"time" must be an ISO 8601 time with a zone, like "2026-11-27T09:30:00Z", or milliseconds since 1970.',
  },
  user: {
    field: 'user',
    reason: 'invalid_user',
    message: '"user" must be an email, "slack:U…" (a Slack user id) or "teams:<Entra object id>".',
  },
  model: {
    field: 'model',
    reason: 'invalid_model',
    message: `"model" must be a model name like "gpt-4o" (letters, digits, . _ : / @ + -; at most ${modelLengthMax}).`,
  },
  inputTokens: {
    field: 'input_tokens',
    reason: 'invalid_tokens',
    message: '"input_tokens" must be a whole number from 0 to 1,000,000,000.',
  },
  outputTokens: {
    field: 'output_tokens',
    reason: 'invalid_tokens',
    message: '"output_tokens" must be a whole number from 0 to 1,000,000,000.',
  },
  category: {
    field: 'category',
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
  const checked = checkEventFields(canonical);
  if (!checked.ok) return { ok: false, ...reasonByField[checked.field] };
  const value = checked.value;
  const user = parseUser(value.user);
  if (!user) return { ok: false, ...reasonByField.user };
  const time = new Date(value.time);
  if (Number.isNaN(time.getTime()) || time < eventTimeMin) {
    return {
      ok: false,
      reason: 'invalid_time',
      field: 'time',
      message: `"time" must be after ${eventTimeMin.toISOString().slice(0, 10)}; numbers are milliseconds since 1970.`,
    };
  }
  if (time.getTime() > now.getTime() + eventFutureSkewMs) {
    return {
      ok: false,
      reason: 'time_in_future',
      field: 'time',
      message: `"time" is in the future (Allot's clock says ${now.toISOString()}); send the time the usage happened.`,
    };
  }
  const inputTokens = BigInt(value.inputTokens);
  const outputTokens = BigInt(value.outputTokens);
  if (inputTokens + outputTokens === 0n) {
    return {
      ok: false,
      reason: 'no_tokens',
      field: 'input_tokens',
      message: 'The event reports no tokens: send input_tokens or output_tokens above 0.',
    };
  }
  if (inputTokens + outputTokens > eventTokensMax) {
    return {
      ok: false,
      reason: 'invalid_tokens',
      field: 'input_tokens',
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
 * sent (so a replay is recognised before any member is looked up). The hashed text is the JSON array
 * [time as ISO 8601, user, model, category, input tokens, output tokens], all as strings (stored
 * hashes depend on it byte for byte); `timeIso` is the event's time as `toISOString` writes it, for a
 * caller that already has it.
 */
export function hashEventContent(event: UsageEventInput, timeIso = event.time.toISOString()): string {
  const canonical = `["${timeIso}",${JSON.stringify(event.userText)},${JSON.stringify(event.model)},${JSON.stringify(event.category)},"${event.inputTokens}","${event.outputTokens}"]`;
  return hash('sha256', canonical, 'base64url');
}

/**
 * The user an event names, read as parseUsageEvent reads it (pinned name first, then the OpenTelemetry
 * ones, flat or under `attributes`; a string of 3–254 characters that parseUser reads), as its
 * normalised text (userRefText), before the other fields are checked; undefined otherwise. A valid
 * event's `userText` is always this.
 */
export function rawUserText(raw: unknown): string | undefined {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const event = raw as Record<string, unknown>;
  const user = pick(event, attributesOf(event), fieldNames.user);
  if (typeof user !== 'string' || user.length < 3 || user.length > 254) return undefined;
  const ref = parseUser(user);
  return ref === undefined ? undefined : userRefText(ref);
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

// ---------------------------------------------------------------------------------------------
// categories and models

export function isValidCategory(category: string): boolean {
  return categoryPattern.test(category);
}

export function normaliseModel(model: string): string | undefined {
  const text = model.trim().toLowerCase();
  return text.length > 0 && text.length <= modelLengthMax && modelPattern.test(text) ? text : undefined;
}
