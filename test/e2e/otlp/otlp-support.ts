import { type Attributes, DiagLogLevel, diag } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../../src/db/client';
import type { Ctx } from '../../../src/lib/context';

// Real OpenTelemetry clients for the /v1/traces suites: spans made by the SDK's TracerProvider, sent by
// the official OTLP exporters (protobuf and JSON), and bodies serialized by the exporters' own
// serializer (@opentelemetry/otlp-transformer) where a test needs the raw request or answer.

export type Protocol = 'http/protobuf' | 'http/json';

/** What a test says of one span: its attributes, and when it ends (default: now). */
export interface SpanSpec {
  attributes: Attributes;
  name?: string;
  end?: Date;
}

/** GenAI attributes as the semantic conventions name them, for a chat call by `user`. */
export function genAi(user: string | undefined, input: number, output: number, extra: Attributes = {}): Attributes {
  return {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.response.model': 'gpt-4o-2024-08-06',
    'gen_ai.usage.input_tokens': input,
    'gen_ai.usage.output_tokens': output,
    ...(user === undefined ? {} : { 'user.email': user }),
    ...extra,
  };
}

function provider(resource: Attributes, ...exporters: SpanExporter[]): TracerProvider {
  return new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'allot-otlp-tests', ...resource }),
    spanProcessors: exporters.map((exporter) => new SimpleSpanProcessor({ exporter })),
  });
}

function startAndEnd(tracerProvider: TracerProvider, specs: readonly SpanSpec[]): void {
  const tracer = tracerProvider.getTracer('allot-otlp-tests');
  for (const spec of specs) {
    const end = spec.end ?? new Date();
    const span = tracer.startSpan(spec.name ?? 'chat gpt-4o', {
      attributes: spec.attributes,
      startTime: new Date(end.getTime() - 1_500),
    });
    span.end(end);
  }
}

/** Finished spans as the SDK hands them to an exporter, kept in memory (to export them again, or serialize them). */
export async function recordSpans(specs: readonly SpanSpec[], resource: Attributes = {}): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const tracerProvider = provider(resource, memory);
  startAndEnd(tracerProvider, specs);
  await tracerProvider.forceFlush();
  const spans = memory.getFinishedSpans();
  await tracerProvider.shutdown();
  return spans;
}

/** The official OTLP/HTTP exporter for `protocol`, pointed at Allot with an API key. */
export function otlpExporter(
  protocol: Protocol,
  target: { url: string; apiKey: string },
  options: { gzip?: boolean } = {},
): SpanExporter {
  const config = {
    url: target.url,
    headers: { Authorization: `Bearer ${target.apiKey}` },
    ...(options.gzip ? { compression: CompressionAlgorithm.GZIP } : {}),
  };
  return protocol === 'http/protobuf' ? new ProtoTraceExporter(config) : new JsonTraceExporter(config);
}

/**
 * Spans made by a TracerProvider whose `SimpleSpanProcessor` hands each one, as it ends, to the official
 * exporter for `protocol` (the setup an instrumented application has); resolves, once all are exported,
 * with the spans as they were exported.
 */
export async function traceAndExport(
  protocol: Protocol,
  target: { url: string; apiKey: string },
  specs: readonly SpanSpec[],
  options: { resource?: Attributes; gzip?: boolean } = {},
): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const tracerProvider = provider(options.resource ?? {}, otlpExporter(protocol, target, options), memory);
  startAndEnd(tracerProvider, specs);
  await tracerProvider.forceFlush();
  const spans = memory.getFinishedSpans();
  await tracerProvider.shutdown();
  return spans;
}

/** The id of the usage event a span becomes: trace id and span id. */
export function eventIdOf(span: ReadableSpan): string {
  const context = span.spanContext();
  return `${context.traceId}-${context.spanId}`;
}

/** Exports finished spans once more with a fresh official exporter, as an exporter's retry does; resolves with its result code (0 success). */
export async function exportAgain(
  protocol: Protocol,
  target: { url: string; apiKey: string },
  spans: ReadableSpan[],
): Promise<number> {
  const exporter = otlpExporter(protocol, target);
  const code = await new Promise<number>((resolve) => exporter.export(spans, (result) => resolve(result.code)));
  await exporter.shutdown();
  return code;
}

/** The request body the exporter for `protocol` sends for these spans (its own serializer). */
export function serializeSpans(protocol: Protocol, spans: ReadableSpan[]): Uint8Array {
  const serializer = protocol === 'http/protobuf' ? ProtobufTraceSerializer : JsonTraceSerializer;
  const body = serializer.serializeRequest(spans);
  if (!body) throw new Error('the serializer produced no body');
  return body;
}

/** An answer to an export as the exporter reads it (its own deserializer). */
export function readExportResponse(protocol: Protocol, body: Uint8Array) {
  const serializer = protocol === 'http/protobuf' ? ProtobufTraceSerializer : JsonTraceSerializer;
  return serializer.deserializeResponse(body);
}

/**
 * The partial successes the exporters report (they log them as a warning through the OpenTelemetry
 * diagnostics logger), parsed; `clear()` forgets those seen so far.
 */
export function capturePartialSuccesses() {
  const seen: { rejectedSpans?: number | string; errorMessage?: string }[] = [];
  const logger = {
    warn(message: string, ...args: unknown[]) {
      if (message.startsWith('Received Partial Success response')) seen.push(JSON.parse(String(args[0])));
    },
    error() {},
    info() {},
    debug() {},
    verbose() {},
  };
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  return {
    seen,
    clear: () => {
      seen.length = 0;
    },
  };
}

/** The usage events stored for an organisation, by id. */
export async function storedEvents(ctx: Ctx, orgId: bigint) {
  return queryRows<{
    event_id: string;
    member_id: string;
    model: string;
    category: string;
    input_tokens: string;
    output_tokens: string;
    event_at: Date | string;
  }>(
    ctx.db.orm,
    sql`select event_id, member_id::text, model, category, input_tokens::text, output_tokens::text, event_at
          from usage_events where org_id = ${orgId.toString()}::bigint order by event_id`,
  );
}
