import { performance } from 'node:perf_hooks';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Ctx } from '../../src/lib/context';
import { ingestTraces } from '../../src/usage/otlp.usecases';
import { decodeTraces } from '../../src/usage/otlp-wire.models';
import { ingestUsage } from '../../src/usage/usage.usecases';

// The OTLP row of bench:usage: the same usage events as GenAI spans, made by the OpenTelemetry SDK and
// serialized as the protobuf exporter serializes them (ExportTraceServiceRequest, 1,000 spans each),
// then decoded and ingested as POST /v1/traces does (decodeTraces + ingestTraces), alternating batch by
// batch with the same number of new events through ingestUsage, so both rates meet the same tables.

/** One export request per batch of events: the spans' protobuf bytes, as @opentelemetry/exporter-trace-otlp-proto sends them. */
export async function otlpRequests(batches: Record<string, unknown>[][]): Promise<Uint8Array[]> {
  const requests: Uint8Array[] = [];
  for (const batch of batches) {
    const memory = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: memory })] });
    const tracer = provider.getTracer('bench');
    for (const event of batch) {
      const end = new Date(String(event.time));
      const span = tracer.startSpan(`chat ${String(event.model)}`, {
        startTime: new Date(end.getTime() - 1_000),
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': String(event.model),
          'gen_ai.usage.input_tokens': Number(event.input_tokens),
          'gen_ai.usage.output_tokens': Number(event.output_tokens),
          'user.email': String(event.user),
          'allot.category': String(event.category),
        },
      });
      span.end(end);
    }
    await provider.forceFlush();
    const body = ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans());
    await provider.shutdown();
    if (!body) throw new Error('no protobuf body');
    requests.push(body);
  }
  return requests;
}

/**
 * Ingests new events and OTLP requests batch by batch, alternating (an event batch through ingestUsage,
 * as POST /v1/usage does, then a request through decodeTraces + ingestTraces, as POST /v1/traces does),
 * timing each path on its own: both meet the same tables as they grow. Every event and span must be
 * accepted. Returns the milliseconds spent on each path.
 */
export async function runInterleaved(
  ctx: Ctx,
  orgId: bigint,
  eventBatches: Record<string, unknown>[][],
  requests: Uint8Array[],
): Promise<{ eventsMs: number; otlpMs: number; events: number; spans: number }> {
  let eventsMs = 0;
  let otlpMs = 0;
  let events = 0;
  let spans = 0;
  for (let b = 0; b < Math.min(eventBatches.length, requests.length); b++) {
    let started = performance.now();
    const ingested = await ingestUsage(ctx, { orgId, events: eventBatches[b]! });
    eventsMs += performance.now() - started;
    if (!ingested.ok) throw new Error(ingested.failure);
    events += ingested.value.accepted;
    started = performance.now();
    const decoded = decodeTraces('protobuf', requests[b]!);
    if (!decoded.ok) throw new Error(decoded.message);
    const result = await ingestTraces(ctx, { orgId, traces: decoded.traces });
    otlpMs += performance.now() - started;
    if (!result.ok) throw new Error(result.failure);
    if (result.value.rejected.length > 0) throw new Error(result.value.rejected[0]!.message);
    spans += result.value.accepted;
  }
  return { eventsMs, otlpMs, events, spans };
}
