import { describe, expect, it } from 'vitest';
import { endTimeMs, needsOperationCategories, partialSuccess, spanUsage, spanUser } from '../../src/usage/otlp.models';
import { type AttributeValue, decodeTraces, otlpFormatOf } from '../../src/usage/otlp-wire.models';

// The pure rules of OTLP ingestion: which spans are usage, what each becomes, and the answer's words.

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const spanId = '00f067aa0ba902b7';
const endNanos = '1764235800123456789'; // 2025-11-27T09:30:00.123Z

function span(
  attributes: Record<string, AttributeValue>,
  overrides: Partial<{ traceId: string; spanId: string }> = {},
) {
  return {
    traceId: overrides.traceId ?? traceId,
    spanId: overrides.spanId ?? spanId,
    endTimeUnixNano: endNanos,
    attributes: new Map(Object.entries(attributes)),
  };
}

const chat = {
  'gen_ai.operation.name': 'chat',
  'gen_ai.request.model': 'gpt-4o',
  'gen_ai.usage.input_tokens': '1200',
  'gen_ai.usage.output_tokens': 300,
};
const none = new Map<string, AttributeValue>();

describe('what a span becomes', () => {
  it('a GenAI span becomes one usage event: id trace-span, time its end, the answering model, the user', () => {
    const usage = spanUsage(
      span({ ...chat, 'gen_ai.response.model': 'gpt-4o-2024-08-06', 'user.email': 'ana@acme.com' }),
      none,
      new Map(),
    );
    expect(usage).toEqual({
      kind: 'event',
      span: `${traceId}-${spanId}`,
      event: {
        id: `${traceId}-${spanId}`,
        time: Date.parse('2025-11-27T09:30:00.123Z'),
        user: 'ana@acme.com',
        model: 'gpt-4o-2024-08-06',
        input_tokens: '1200',
        output_tokens: 300,
      },
    });
  });

  it('a span without gen_ai.usage tokens is ignored, whatever else it says', () => {
    expect(spanUsage(span({ 'gen_ai.request.model': 'gpt-4o', 'user.email': 'a@b.co' }), none, new Map())).toEqual({
      kind: 'ignored',
    });
  });

  it('an embeddings span (input tokens only) counts 0 output tokens', () => {
    const usage = spanUsage(
      span({ 'gen_ai.request.model': 'text-embedding-3-small', 'gen_ai.usage.input_tokens': 8, 'user.id': 'a@b.co' }),
      none,
      new Map(),
    );
    expect(usage).toMatchObject({ kind: 'event', event: { input_tokens: 8, output_tokens: 0 } });
  });

  it('takes the category from allot.category (span, then resource), else the mapping of the operation', () => {
    const mapping = new Map([['chat', 'assistant']]);
    const user = { 'user.email': 'a@b.co' };
    expect(spanUsage(span({ ...chat, ...user, 'allot.category': 'review' }), none, mapping)).toMatchObject({
      event: { category: 'review' },
    });
    expect(spanUsage(span({ ...chat, ...user }), new Map([['allot.category', 'docs']]), mapping)).toMatchObject({
      event: { category: 'docs' },
    });
    expect(spanUsage(span({ ...chat, ...user }), none, mapping)).toMatchObject({ event: { category: 'assistant' } });
    const unmapped = spanUsage(span({ ...chat, ...user, 'gen_ai.operation.name': 'embeddings' }), none, mapping);
    expect(unmapped.kind === 'event' && 'category' in unmapped.event).toBe(false);
    expect(unmapped.kind).toBe('event');
  });

  it('a span naming allot.reservation_id settles it and needs no user', () => {
    expect(spanUsage(span({ ...chat, 'allot.reservation_id': 'call-123' }), none, new Map())).toEqual({
      kind: 'settle',
      span: `${traceId}-${spanId}`,
      reservationId: 'call-123',
      usage: { model: 'gpt-4o', input_tokens: '1200', output_tokens: 300 },
    });
  });

  it('refuses, saying what to fix, a GenAI span without a user, a model, an end time, or with bad ids', () => {
    expect(spanUsage(span(chat), none, new Map())).toMatchObject({
      kind: 'rejected',
      message: expect.stringContaining('the span names no user: set allot.user or user.email'),
    });
    const noModel = { ...chat, 'gen_ai.request.model': null, 'user.email': 'a@b.co' };
    expect(spanUsage(span(noModel), none, new Map())).toMatchObject({
      message: expect.stringContaining('set gen_ai.response.model or gen_ai.request.model'),
    });
    expect(
      spanUsage({ ...span({ ...chat, 'user.email': 'a@b.co' }), endTimeUnixNano: '0' }, none, new Map()),
    ).toMatchObject({ message: expect.stringContaining('no end time') });
    for (const ids of [{ traceId: '0'.repeat(32) }, { spanId: 'xyz' }, { traceId: traceId.slice(2) }]) {
      expect(spanUsage(span({ ...chat, 'user.email': 'a@b.co' }, ids), none, new Map())).toMatchObject({
        kind: 'rejected',
        message: expect.stringContaining('trace id must be 16 bytes'),
      });
    }
  });
});

describe('reading the admin mapping only when a span needs it', () => {
  const resource = (attributes: Record<string, AttributeValue>, ...spans: ReturnType<typeof span>[]) => ({
    attributes: new Map(Object.entries(attributes)),
    spans,
  });
  it('is needed by a GenAI span with an operation and no allot.category on it or its resource', () => {
    expect(needsOperationCategories([resource({}, span(chat))])).toBe(true);
    expect(needsOperationCategories([resource({}, span({ ...chat, 'allot.category': 'code' }))])).toBe(false);
    expect(needsOperationCategories([resource({ 'allot.category': 'code' }, span(chat))])).toBe(false);
    expect(needsOperationCategories([resource({}, span({ 'gen_ai.operation.name': 'chat' }))])).toBe(false);
    expect(needsOperationCategories([])).toBe(false);
  });
});

describe('whose usage it is', () => {
  it('the first attribute that names a user, on the span before the resource', () => {
    const resource = new Map<string, AttributeValue>([['user.email', 'res@acme.com']]);
    expect(spanUser(new Map([['enduser.id', 'span@acme.com']]), resource)).toEqual({ user: 'span@acme.com' });
    expect(spanUser(new Map(), resource)).toEqual({ user: 'res@acme.com' });
    expect(spanUser(new Map([['allot.user', 'slack:U0ANA']]), resource)).toEqual({ user: 'slack:U0ANA' });
    // An internal numeric user.id does not hide a usable user further on.
    expect(spanUser(new Map([['user.id', '12345']]), resource)).toEqual({ user: 'res@acme.com' });
  });

  it('says what it found when nothing names a user, and nothing when there is nothing', () => {
    expect(spanUser(new Map([['user.id', 12345]]), new Map())).toEqual({ invalid: 'user.id="12345"' });
    expect(spanUser(new Map(), new Map())).toBeUndefined();
  });
});

describe('end times', () => {
  it('reads nanoseconds as a bigint, a decimal string or a number, to the millisecond', () => {
    expect(endTimeMs(endNanos)).toBe(1764235800123);
    expect(endTimeMs(BigInt(endNanos))).toBe(1764235800123);
    // A JSON number this large is a double (about 256 ns apart): still exact to the millisecond.
    expect(endTimeMs(Number(endNanos))).toBe(1764235800123);
    for (const absent of [undefined, '0', 0, '-5', 'soon', Number.NaN]) expect(endTimeMs(absent)).toBeUndefined();
  });
});

describe('the answer', () => {
  it('says nothing when every span was recorded', () => {
    expect(partialSuccess({ accepted: 3, duplicate: 1, ignored: 0, rejected: [] })).toBeUndefined();
  });

  it('names each rejected span with what to fix, counts the ignored ones, and bounds the list', () => {
    const rejected = Array.from({ length: 12 }, (_, index) => ({ span: `t-${index}`, message: 'fix it.' }));
    const answer = partialSuccess({ accepted: 2, duplicate: 0, ignored: 3, rejected });
    expect(answer?.rejectedSpans).toBe(12);
    expect(answer?.errorMessage).toContain('Allot rejected 12 spans (and 2 more). span t-0: fix it.');
    expect(answer?.errorMessage).not.toContain('span t-10');
    expect(answer?.errorMessage).toContain('3 spans without GenAI usage');
    expect(answer?.errorMessage).toContain('2 GenAI spans recorded (0 already known).');
  });

  it('warns with 0 rejected when spans were only ignored (OTLP: a warning has rejectedSpans 0 and a message)', () => {
    expect(partialSuccess({ accepted: 0, duplicate: 0, ignored: 1, rejected: [] })).toEqual({
      rejectedSpans: 0,
      errorMessage:
        '1 span without GenAI usage (no gen_ai.usage.input_tokens or gen_ai.usage.output_tokens) was ignored. 0 GenAI spans recorded (0 already known).',
    });
  });
});

describe('OTLP/JSON as the specification encodes it', () => {
  it('reads hex ids in either case, 64-bit integers as strings or numbers, and ignores unknown fields', () => {
    const body = JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'user.email', value: { stringValue: 'ana@acme.com' } }] },
          schemaUrl: 'https://opentelemetry.io/schemas/1.36.0',
          scopeSpans: [
            {
              scope: { name: 'openai' },
              spans: [
                {
                  traceId: traceId.toUpperCase(),
                  spanId,
                  kind: 3,
                  endTimeUnixNano: endNanos,
                  attributes: [
                    { key: 'gen_ai.usage.input_tokens', value: { intValue: '12' } },
                    { key: 'gen_ai.usage.output_tokens', value: { intValue: 3 } },
                    { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o' } },
                    { key: 'gen_ai.request.temperature', value: { doubleValue: 0.2 } },
                    { key: 'gen_ai.response.finish_reasons', value: { arrayValue: { values: [] } } },
                  ],
                  futureField: true,
                },
              ],
            },
          ],
        },
      ],
    });
    const decoded = decodeTraces('json', new TextEncoder().encode(body));
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.traces.spanCount).toBe(1);
    const [resource] = decoded.traces.resourceSpans;
    expect(resource!.attributes.get('user.email')).toBe('ana@acme.com');
    expect(resource!.spans[0]).toMatchObject({ traceId, spanId, endTimeUnixNano: endNanos });
    expect(Object.fromEntries(resource!.spans[0]!.attributes)).toEqual({
      'gen_ai.usage.input_tokens': '12',
      'gen_ai.usage.output_tokens': 3,
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.request.temperature': 0.2,
      'gen_ai.response.finish_reasons': null,
    });
  });

  it('an empty protobuf body is an empty request; the Content-Type decides the format', () => {
    expect(decodeTraces('protobuf', new Uint8Array(0))).toEqual({
      ok: true,
      traces: { resourceSpans: [], spanCount: 0 },
    });
    expect(otlpFormatOf('application/x-protobuf')).toBe('protobuf');
    expect(otlpFormatOf('Application/JSON; charset=utf-8')).toBe('json');
    expect(otlpFormatOf('application/protobuf')).toBeUndefined();
    expect(otlpFormatOf(undefined)).toBeUndefined();
  });
});
