import type { AttributeValue, OtlpResourceSpans, OtlpSpan } from './otlp-wire.models';
import { eventsPerRequestMax, parseUser, type RejectionReason } from './usage.models';

// Pure rules of OTLP ingestion: which spans are GenAI usage, and the usage event (or reservation settle)
// each one becomes, read by the OpenTelemetry GenAI semantic conventions; and the words of the answer.
// The wire (protobuf, JSON) is otlp-wire.models.ts; the verb is otlp.usecases.ts.

/** Most spans one request may carry, GenAI or not: the bound of /v1/usage's batches (413 beyond). */
export const spansPerRequestMax = eventsPerRequestMax;

/** Most operation → category mappings an organisation may keep (there are a handful of GenAI operations). */
export const operationCategoriesMax = 100;

const operationPattern = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/**
 * A `gen_ai.operation.name` as an admin names it ("chat", "embeddings", "execute_tool", …), lower-cased;
 * undefined unless it is a lower-case word of letters, digits, ".", "_" and "-" (at most 64).
 */
export function normaliseOperation(operation: string): string | undefined {
  const name = operation.trim().toLowerCase();
  return operationPattern.test(name) ? name : undefined;
}

/**
 * The attributes Allot reads, in the order it looks for them: the OpenTelemetry GenAI semantic
 * conventions (gen_ai.*, with the token names older instrumentations still send), the user and
 * end-user conventions, and Allot's own (`allot.*`).
 */
export const spanAttributes = {
  inputTokens: ['gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens'],
  outputTokens: ['gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens'],
  /** The model that answered first: it is the one that was priced. */
  model: ['gen_ai.response.model', 'gen_ai.request.model'],
  operation: 'gen_ai.operation.name',
  /** On the span, else on its resource; the first that names a user as /v1/usage reads one wins. */
  user: ['allot.user', 'user.email', 'enduser.id', 'user.id'],
  category: 'allot.category',
  reservation: 'allot.reservation_id',
} as const;

/** A usage event for ingestUsage, in /v1/usage's pinned names. */
export interface SpanEvent {
  id: string;
  /** The span's end, in milliseconds since 1970. */
  time: number;
  user: string;
  model: string;
  input_tokens: AttributeValue;
  output_tokens: AttributeValue;
  category?: string;
}

/** What one span becomes. `span` names it in the answer: `<trace id>-<span id>`. */
export type SpanUsage =
  | { kind: 'ignored' }
  | { kind: 'rejected'; span: string; message: string }
  | { kind: 'event'; span: string; event: SpanEvent }
  | {
      kind: 'settle';
      span: string;
      reservationId: string;
      usage: { model?: string; input_tokens: AttributeValue; output_tokens: AttributeValue; category?: string };
    };

const traceIdPattern = /^[0-9a-f]{32}$/;
const spanIdPattern = /^[0-9a-f]{16}$/;
const allZeros = /^0+$/;

/**
 * The id of the usage event a span becomes: its trace id and span id in hex, joined by "-" (as in a
 * W3C traceparent), so exporting the same span again names the same event (a duplicate).
 */
export function spanEventId(traceId: string, spanId: string): string {
  return `${traceId}-${spanId}`;
}

function first(attributes: ReadonlyMap<string, AttributeValue>, names: readonly string[]): AttributeValue | undefined {
  for (const name of names) {
    const value = attributes.get(name);
    if (value !== undefined && value !== null) return value;
  }
  return undefined;
}

function text(value: AttributeValue | undefined): string | undefined {
  return typeof value === 'string' && value.trim().length > 0 ? value.trim() : undefined;
}

/** The span's end in milliseconds since 1970, from nanoseconds (a bigint, decimal string or number); undefined when absent or 0. */
export function endTimeMs(endTimeUnixNano: bigint | string | number | undefined): number | undefined {
  let nanos: bigint;
  if (typeof endTimeUnixNano === 'bigint') nanos = endTimeUnixNano;
  else if (typeof endTimeUnixNano === 'string' && /^[0-9]{1,20}$/.test(endTimeUnixNano))
    nanos = BigInt(endTimeUnixNano);
  else if (typeof endTimeUnixNano === 'number' && Number.isFinite(endTimeUnixNano) && endTimeUnixNano > 0) {
    nanos = BigInt(Math.trunc(endTimeUnixNano));
  } else return undefined;
  const ms = nanos / 1_000_000n;
  return ms > 0n ? Number(ms) : undefined;
}

/**
 * The user a span's usage belongs to: the first of `spanAttributes.user` that reads as a user (an
 * email, `slack:U…`, `teams:<id>`), on the span, else on its resource. `invalid` holds what was found
 * when none reads as a user.
 */
export function spanUser(
  span: ReadonlyMap<string, AttributeValue>,
  resource: ReadonlyMap<string, AttributeValue>,
): { user: string } | { invalid: string } | undefined {
  let found: string | undefined;
  for (const attributes of [span, resource]) {
    for (const name of spanAttributes.user) {
      const value = attributes.get(name);
      if (value === undefined || value === null) continue;
      const candidate = String(value).trim();
      if (parseUser(candidate)) return { user: candidate };
      found ??= `${name}=${JSON.stringify(candidate).slice(0, 80)}`;
    }
  }
  return found === undefined ? undefined : { invalid: found };
}

/** The category a span's usage counts under: `allot.category` (span, then resource), else the admin's mapping of its operation. */
function spanCategory(
  span: ReadonlyMap<string, AttributeValue>,
  resource: ReadonlyMap<string, AttributeValue>,
  categoryByOperation: ReadonlyMap<string, string>,
): string | undefined {
  const explicit = text(span.get(spanAttributes.category)) ?? text(resource.get(spanAttributes.category));
  if (explicit !== undefined) return explicit;
  const operation = text(span.get(spanAttributes.operation));
  return operation === undefined ? undefined : categoryByOperation.get(operation.toLowerCase());
}

/**
 * What one span becomes. A span without GenAI usage (no gen_ai.usage.input_tokens nor
 * gen_ai.usage.output_tokens, or their older names) is ignored. A GenAI span carrying
 * `allot.reservation_id` settles that reservation (the reservation knows its member); any other needs
 * a user (spanUser) and becomes one usage event with id spanEventId, at the span's end time. The
 * figures themselves (tokens, model, time, category) are checked by ingestion as /v1/usage checks
 * them; here only what ingestion cannot name is refused: bad ids, no end time, no user.
 */
export function spanUsage(
  span: OtlpSpan,
  resource: ReadonlyMap<string, AttributeValue>,
  categoryByOperation: ReadonlyMap<string, string>,
): SpanUsage {
  const attributes = span.attributes;
  const inputTokens = first(attributes, spanAttributes.inputTokens);
  const outputTokens = first(attributes, spanAttributes.outputTokens);
  if (inputTokens === undefined && outputTokens === undefined) return { kind: 'ignored' };
  const traceId = span.traceId ?? '';
  const spanId = span.spanId ?? '';
  const label = spanEventId(traceId.slice(0, 32) || '?', spanId.slice(0, 16) || '?');
  if (!traceIdPattern.test(traceId) || allZeros.test(traceId) || !spanIdPattern.test(spanId) || allZeros.test(spanId)) {
    return { kind: 'rejected', span: label, message: spanRejectionHints.invalid_id };
  }
  const model = text(first(attributes, spanAttributes.model));
  const category = spanCategory(attributes, resource, categoryByOperation);
  const tokens = { input_tokens: inputTokens ?? 0, output_tokens: outputTokens ?? 0 };
  const reservationId = text(attributes.get(spanAttributes.reservation));
  if (reservationId !== undefined) {
    return {
      kind: 'settle',
      span: label,
      reservationId,
      usage: { ...tokens, ...(model === undefined ? {} : { model }), ...(category === undefined ? {} : { category }) },
    };
  }
  const time = endTimeMs(span.endTimeUnixNano);
  if (time === undefined) return { kind: 'rejected', span: label, message: missingHints.endTime };
  if (model === undefined) return { kind: 'rejected', span: label, message: missingHints.model };
  const user = spanUser(attributes, resource);
  if (user === undefined) return { kind: 'rejected', span: label, message: missingHints.user };
  if ('invalid' in user) {
    return { kind: 'rejected', span: label, message: `${spanRejectionHints.invalid_user} (found ${user.invalid})` };
  }
  const event: SpanEvent = { id: spanEventId(traceId, spanId), time, user: user.user, model, ...tokens };
  if (category !== undefined) event.category = category;
  return { kind: 'event', span: label, event };
}

/**
 * Whether any GenAI span of the request would take its category from the admin's mapping (it names a
 * `gen_ai.operation.name` and no `allot.category`, nor does its resource): only then is the mapping read.
 */
export function needsOperationCategories(resourceSpans: readonly OtlpResourceSpans[]): boolean {
  return resourceSpans.some(
    (resource) =>
      text(resource.attributes.get(spanAttributes.category)) === undefined &&
      resource.spans.some(
        ({ attributes }) =>
          text(attributes.get(spanAttributes.category)) === undefined &&
          text(attributes.get(spanAttributes.operation)) !== undefined &&
          (first(attributes, spanAttributes.inputTokens) !== undefined ||
            first(attributes, spanAttributes.outputTokens) !== undefined),
      ),
  );
}

/** Every span of a request with what it becomes, in order. */
export function tracesUsage(
  resourceSpans: readonly OtlpResourceSpans[],
  categoryByOperation: ReadonlyMap<string, string>,
): SpanUsage[] {
  return resourceSpans.flatMap((resource) =>
    resource.spans.map((span) => spanUsage(span, resource.attributes, categoryByOperation)),
  );
}

const missingHints = {
  endTime: 'the span has no end time (endTimeUnixNano); export spans once they have ended.',
  model: 'the span names no model: set gen_ai.response.model or gen_ai.request.model.',
  user: 'the span names no user: set allot.user or user.email (or enduser.id, user.id) to a member\'s email, "slack:U…" or "teams:<Entra object id>", on the span or its resource.',
};

/** What to fix in a span, for each reason ingestion refuses a usage event (an exhaustive table: a new reason breaks the build). */
export const spanRejectionHints: Record<RejectionReason, string> = {
  invalid_event: 'the span could not be read as usage.',
  missing_field: 'the span lacks a field every usage event needs (a user, a model, tokens and an end time).',
  invalid_id:
    'its trace id must be 16 bytes (32 hex digits) and its span id 8 bytes (16 hex digits), neither all zeros.',
  invalid_time: 'its end time (endTimeUnixNano, nanoseconds since 1970) must be after 2000-01-01.',
  time_in_future: "it ends in the future by Allot's clock; check the clock of the host that exported it.",
  invalid_user:
    'the user (allot.user, user.email, enduser.id or user.id) must be an email, "slack:U…" or "teams:<Entra object id>".',
  invalid_model: 'gen_ai.response.model (or gen_ai.request.model) must be a model name like "gpt-4o".',
  invalid_tokens:
    'gen_ai.usage.input_tokens and gen_ai.usage.output_tokens must be whole numbers from 0 to 1,000,000,000 in all.',
  no_tokens: 'it reports no tokens: gen_ai.usage.input_tokens and gen_ai.usage.output_tokens are both 0.',
  invalid_category:
    'allot.category (or the category set for its gen_ai.operation.name) must be a short word like "code" (a-z, 0-9, _ and -).',
  unknown_user:
    'no member of this organisation has that user (allot.user, user.email, enduser.id or user.id); add them or link their email first. Spans never create members.',
  id_conflict:
    'a span with the same trace and span id was already recorded with other figures; each span id is used once.',
};

/** Why a span carrying allot.reservation_id was refused, by the settle's failure. */
export function settleRejection(
  failure: 'reservation_not_found' | 'reservation_released' | 'idempotency_conflict',
  reservationId: string,
): string {
  const id = JSON.stringify(reservationId.slice(0, 100));
  switch (failure) {
    case 'reservation_not_found':
      return `allot.reservation_id ${id} names no reservation of this organisation; reserve first (POST /v1/reservations) or leave the attribute out.`;
    case 'reservation_released':
      return `reservation ${id} was released (nothing spent); leave allot.reservation_id out to record the usage as its own event.`;
    case 'idempotency_conflict':
      return `reservation ${id} was already settled with other figures; nothing more was debited.`;
  }
}

/** The outcome of a request's spans, as the answer reports it. */
export interface SpansOutcome {
  accepted: number;
  duplicate: number;
  ignored: number;
  rejected: { span: string; message: string }[];
}

/** Most rejected spans an answer names one by one; the rest are counted. */
export const rejectionsNamedMax = 10;

/**
 * The `partialSuccess` of the answer, or undefined when every span was recorded (or already known): the
 * rejected spans, each named with what to fix, then the spans ignored for want of GenAI usage (counted,
 * not rejected: OTLP's "warning" form, rejectedSpans 0, when nothing was rejected).
 */
export function partialSuccess(outcome: SpansOutcome): { rejectedSpans: number; errorMessage: string } | undefined {
  const { rejected, ignored } = outcome;
  if (rejected.length === 0 && ignored === 0) return undefined;
  const parts: string[] = [];
  if (rejected.length > 0) {
    const named = rejected.slice(0, rejectionsNamedMax).map((item) => `span ${item.span}: ${item.message}`);
    const more = rejected.length > rejectionsNamedMax ? ` (and ${rejected.length - rejectionsNamedMax} more)` : '';
    parts.push(`Allot rejected ${rejected.length} span${rejected.length === 1 ? '' : 's'}${more}. ${named.join(' ')}`);
  }
  if (ignored > 0) {
    parts.push(
      `${ignored} span${ignored === 1 ? '' : 's'} without GenAI usage (no gen_ai.usage.input_tokens or gen_ai.usage.output_tokens) ${ignored === 1 ? 'was' : 'were'} ignored.`,
    );
  }
  const recorded = outcome.accepted + outcome.duplicate;
  parts.push(`${recorded} GenAI span${recorded === 1 ? '' : 's'} recorded (${outcome.duplicate} already known).`);
  return { rejectedSpans: rejected.length, errorMessage: parts.join(' ') };
}
