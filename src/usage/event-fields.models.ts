import { z } from 'zod';

// The field checks of a usage event, written out by hand: they run on every event of every batch, and
// a zod object schema cost about three times as much per event (bench/README.md, "Usage"). The rules
// are those of the zod schema they replace, which test/usage/event-fields.test.ts keeps as the
// reference and compares against on valid and hostile values, field by field and in order.

/** Longest event id (the column's CHECK agrees). */
export const eventIdLengthMax = 255;
export const modelLengthMax = 100;
/** Most tokens one field may report (input + output is checked against eventTokensMax as well). */
export const tokenFieldMax = 1_000_000_000;

// biome-ignore lint/suspicious/noControlCharactersInRegex: ids with control characters are refused.
const noControlCharacters = /^[^\u0000-\u001f\u007f]*$/;
export const modelPattern = /^[a-z0-9][a-z0-9._:/@+-]*$/;
export const categoryPattern = /^[a-z0-9][a-z0-9_-]{0,39}$/;
const tokenDigits = /^[0-9]{1,10}$/;
/** RFC 3339 with seconds and a zone (`Z` or ±hh:mm), as zod's `z.iso.datetime({ offset: true })`. */
const isoDateTimeWithZone = z.regexes.datetime({ offset: true, local: false, precision: null });

/** The fields of an event as found under any of their names, before any check. */
export interface EventFields {
  id: unknown;
  time: unknown;
  user: unknown;
  model: unknown;
  inputTokens: unknown;
  outputTokens: unknown;
  category: unknown;
}

/** The fields once checked: the model and category trimmed and lower-cased, the rest as sent. */
export interface CheckedEventFields {
  id: string;
  time: string | number;
  user: string;
  model: string;
  inputTokens: number | string;
  outputTokens: number | string;
  category: string | undefined;
}

/** A token count: a whole number 0 to 1e9, or its decimal digits as a string (at most 10). */
function isTokenCount(value: unknown): value is number | string {
  return typeof value === 'number'
    ? Number.isSafeInteger(value) && value >= 0 && value <= tokenFieldMax
    : typeof value === 'string' && tokenDigits.test(value);
}

/** An event time as sent: RFC 3339 with seconds and a zone, or a positive whole number of milliseconds. */
function isEventTime(value: unknown): value is string | number {
  return typeof value === 'string'
    ? isoDateTimeWithZone.test(value)
    : typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/**
 * Checks each field in the order id, time, user, model, input tokens, output tokens, category, and names
 * the first that fails: `id` a string of 1–255 characters without control characters; `time` an RFC
 * 3339 time with seconds and a zone, or a positive whole number of milliseconds; `user` a string of
 * 3–254 characters (what it names is read later); `model` once trimmed and lower-cased 1–100 characters
 * of `modelPattern`; each token count as `isTokenCount`; `category` absent, or once trimmed and
 * lower-cased a match of `categoryPattern`.
 */
export function checkEventFields(
  fields: EventFields,
): { ok: true; value: CheckedEventFields } | { ok: false; field: keyof EventFields } {
  const { id, time, user, inputTokens, outputTokens } = fields;
  if (typeof id !== 'string' || id.length < 1 || id.length > eventIdLengthMax || !noControlCharacters.test(id)) {
    return { ok: false, field: 'id' };
  }
  if (!isEventTime(time)) return { ok: false, field: 'time' };
  if (typeof user !== 'string' || user.length < 3 || user.length > 254) return { ok: false, field: 'user' };
  const model = typeof fields.model === 'string' ? fields.model.trim().toLowerCase() : undefined;
  if (model === undefined || model.length < 1 || model.length > modelLengthMax || !modelPattern.test(model)) {
    return { ok: false, field: 'model' };
  }
  if (!isTokenCount(inputTokens)) return { ok: false, field: 'inputTokens' };
  if (!isTokenCount(outputTokens)) return { ok: false, field: 'outputTokens' };
  let category: string | undefined;
  if (fields.category !== undefined) {
    category = typeof fields.category === 'string' ? fields.category.trim().toLowerCase() : undefined;
    if (category === undefined || !categoryPattern.test(category)) return { ok: false, field: 'category' };
  }
  return { ok: true, value: { id, time, user, model, inputTokens, outputTokens, category } };
}
