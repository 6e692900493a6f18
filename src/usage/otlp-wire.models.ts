import protobuf from 'protobufjs/light.js';
import { z } from 'zod';
import protocol from './otlp-protocol.json';

// OTLP/HTTP on the wire (OpenTelemetry Protocol specification, "OTLP/HTTP"): decoding an
// ExportTraceServiceRequest sent as binary protobuf (`application/x-protobuf`) or as JSON
// (`application/json`, the OTLP/JSON mapping: trace and span ids as hex, enums as numbers, 64-bit
// integers as numbers or decimal strings), and encoding the answers, each in the request's own format:
// an ExportTraceServiceResponse (with `partialSuccess` when spans were rejected or ignored) and, for
// every 4xx and 5xx, a google.rpc.Status. The message definitions are the official .proto files,
// compiled by protobufjs into otlp-protocol.json (scripts/otlp-descriptor.js); nothing here knows
// protobuf's wire format. Pure: no I/O.

/** The two encodings OTLP/HTTP defines, by their Content-Type. */
export type OtlpFormat = 'protobuf' | 'json';

export const otlpContentTypes: Record<OtlpFormat, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

/** The encoding a request's Content-Type names (parameters such as charset ignored); undefined for any other type. */
export function otlpFormatOf(contentType: string | undefined): OtlpFormat | undefined {
  const mediaType = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (mediaType === otlpContentTypes.protobuf) return 'protobuf';
  if (mediaType === otlpContentTypes.json) return 'json';
  return undefined;
}

const root = protobuf.Root.fromJSON(protocol.descriptor as protobuf.INamespace);
const requestType = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
const responseType = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
const statusType = root.lookupType('google.rpc.Status');

/**
 * An attribute's value as Allot reads it: a string, a number (a double, or an int: from protobuf when
 * it is a safe integer, from JSON when sent as a number), a decimal string (an int JSON sent as a
 * string, or a protobuf int beyond 2^53), a boolean;
 * null for the kinds no usage field can hold (arrays, key-value lists, bytes, an empty value).
 */
export type AttributeValue = string | number | boolean | null;

/** What Allot reads of a span: its ids as lowercase hex (as sent, unchecked), end time and attributes. */
export interface OtlpSpan {
  traceId: string | undefined;
  spanId: string | undefined;
  /** Nanoseconds since 1970 (fixed64): exact from protobuf (bigint), as sent in JSON (decimal string or number). */
  endTimeUnixNano: bigint | string | number | undefined;
  attributes: ReadonlyMap<string, AttributeValue>;
}

/** The spans of one resource (one exporting process), with the resource's attributes. */
export interface OtlpResourceSpans {
  attributes: ReadonlyMap<string, AttributeValue>;
  spans: OtlpSpan[];
}

export interface OtlpTraces {
  resourceSpans: OtlpResourceSpans[];
  /** Every span of the request, GenAI or not. */
  spanCount: number;
}

export type TracesDecode = { ok: true; traces: OtlpTraces } | { ok: false; message: string };

// The parts of an OTLP/JSON ExportTraceServiceRequest that Allot reads; every other field is ignored, as
// OTLP/JSON receivers must ignore fields they do not know.
const idValue = z.string();
const int64Json = z.union([z.string(), z.number()]);
const anyValue = z.object({
  stringValue: z.string().optional(),
  intValue: int64Json.optional(),
  doubleValue: z.union([z.number(), z.string()]).optional(),
  boolValue: z.boolean().optional(),
});
const attributeList = z.array(z.object({ key: z.string(), value: anyValue.nullish() })).nullish();
const requestSchema = z.object({
  resourceSpans: z
    .array(
      z.object({
        resource: z.object({ attributes: attributeList }).nullish(),
        scopeSpans: z
          .array(
            z.object({
              spans: z
                .array(
                  z.object({
                    traceId: idValue.nullish(),
                    spanId: idValue.nullish(),
                    endTimeUnixNano: int64Json.nullish(),
                    attributes: attributeList,
                  }),
                )
                .nullish(),
            }),
          )
          .nullish(),
      }),
    )
    .nullish(),
});
type JsonRequest = z.infer<typeof requestSchema>;

// The decoded protobuf message, as protobufjs builds it from the descriptor: every field has its
// declared type (64-bit integers are Long, or number without the long package; bytes are Uint8Array;
// a set oneof names itself in `value`), so it is read directly, without a second validation.
/** A 64-bit integer as protobufjs decodes it (a Long from the long package). */
interface Int64 {
  low: number;
  high: number;
  toNumber(): number;
  toString(): string;
}

/** An int64 attribute as a number when it is a safe integer (every token count is), else its decimal text. */
function int64Value(value: Int64 | number | undefined): number | string {
  if (value === undefined || typeof value === 'number') return value ?? 0;
  const number = value.toNumber();
  return Number.isSafeInteger(number) ? number : value.toString();
}

/** A fixed64 time in nanoseconds, exactly (a Long's two halves; Long's own toString is slow). */
function unixNanos(value: Int64 | number | undefined): bigint | number | undefined {
  if (value === undefined || typeof value === 'number') return value;
  return (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
}
interface DecodedAnyValue {
  value?: 'stringValue' | 'boolValue' | 'intValue' | 'doubleValue' | 'arrayValue' | 'kvlistValue' | 'bytesValue';
  stringValue?: string;
  boolValue?: boolean;
  intValue?: Int64 | number;
  doubleValue?: number;
}
interface DecodedRequest {
  resourceSpans?: Resource<
    DecodedAnyValue,
    { traceId?: Uint8Array; spanId?: Uint8Array; endTimeUnixNano?: Int64 | number }
  >[];
}

/** The request's tree, in either encoding: `V` is an attribute's value, `S` a span's other fields. */
type Attributes<V> = { key: string; value?: V | null }[] | null | undefined;
type Resource<V, S> = {
  resource?: { attributes?: Attributes<V> } | null;
  scopeSpans?: { spans?: (S & { attributes?: Attributes<V> })[] | null }[] | null;
};

function jsonValue(value: z.infer<typeof anyValue> | null | undefined): AttributeValue {
  if (!value) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return value.intValue;
  if (value.doubleValue !== undefined) {
    return typeof value.doubleValue === 'number' ? value.doubleValue : Number(value.doubleValue);
  }
  if (value.boolValue !== undefined) return value.boolValue;
  return null;
}

function decodedValue(value: DecodedAnyValue | null | undefined): AttributeValue {
  switch (value?.value) {
    case 'stringValue':
      return value.stringValue ?? '';
    case 'boolValue':
      return value.boolValue ?? false;
    case 'intValue':
      return int64Value(value.intValue);
    case 'doubleValue':
      return value.doubleValue ?? 0;
    default:
      return null;
  }
}

/** Lower-case hex of an id sent as hex text (JSON) or as bytes (protobuf); undefined when absent or empty. */
function idText(id: string | Uint8Array | null | undefined): string | undefined {
  if (id === null || id === undefined || id.length === 0) return undefined;
  return typeof id === 'string'
    ? id.toLowerCase()
    : Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}

/**
 * Every span of the request, with its resource's attributes, in order. Attributes become a map (a key
 * repeated, which OTLP forbids, keeps its first value); `span` reads a span's ids and end time.
 */
function readTraces<V, S>(
  resources: readonly Resource<V, S>[] | null | undefined,
  readValue: (value: V | null | undefined) => AttributeValue,
  span: (span: S) => Omit<OtlpSpan, 'attributes'>,
): OtlpTraces {
  const attributeMap = (list: Attributes<V>) => {
    const map = new Map<string, AttributeValue>();
    for (const { key, value } of list ?? []) if (!map.has(key)) map.set(key, readValue(value));
    return map;
  };
  let spanCount = 0;
  const resourceSpans = (resources ?? []).map((resource) => {
    const spans: OtlpSpan[] = [];
    for (const scope of resource.scopeSpans ?? []) {
      for (const item of scope.spans ?? []) spans.push({ ...span(item), attributes: attributeMap(item.attributes) });
    }
    spanCount += spans.length;
    return { attributes: attributeMap(resource.resource?.attributes), spans };
  });
  return { resourceSpans, spanCount };
}

function readJson(request: JsonRequest): OtlpTraces {
  return readTraces(request.resourceSpans, jsonValue, (span) => ({
    traceId: idText(span.traceId),
    spanId: idText(span.spanId),
    endTimeUnixNano: span.endTimeUnixNano ?? undefined,
  }));
}

function readDecoded(request: DecodedRequest): OtlpTraces {
  return readTraces(request.resourceSpans, decodedValue, (span) => ({
    traceId: idText(span.traceId),
    spanId: idText(span.spanId),
    endTimeUnixNano: unixNanos(span.endTimeUnixNano),
  }));
}

/** Where the JSON first departs from the request's shape, as a path a sender can find ("resourceSpans[0].scopeSpans"). */
function problemPath(error: z.ZodError): string {
  const path = error.issues[0]?.path ?? [];
  return path.reduce<string>(
    (text, part) => (typeof part === 'number' ? `${text}[${part}]` : `${text}${text ? '.' : ''}${String(part)}`),
    '',
  );
}

const jsonHelp =
  'Send an OTLP ExportTraceServiceRequest as OTLP/JSON: {"resourceSpans":[{"resource":{"attributes":[…]},' +
  '"scopeSpans":[{"spans":[{"traceId":"<32 hex>","spanId":"<16 hex>","endTimeUnixNano":"…","attributes":[…]}]}]}]}.';

/**
 * Decodes the body of `POST /v1/traces` in the given format (already inflated when it came gzipped).
 * Fails, with a message saying what to send, when it is not an ExportTraceServiceRequest: protobuf that
 * does not decode, text that is not JSON, or JSON of another shape. An empty protobuf body is an empty
 * request, as protobuf defines it.
 */
export function decodeTraces(format: OtlpFormat, body: Uint8Array): TracesDecode {
  if (format === 'protobuf') {
    let message: DecodedRequest;
    try {
      message = requestType.decode(body) as unknown as DecodedRequest;
    } catch (error) {
      return {
        ok: false,
        message: `The body is not a protobuf ExportTraceServiceRequest (${(error as Error).message}); send what an OTLP exporter sends with OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf.`,
      };
    }
    return { ok: true, traces: readDecoded(message) };
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch {
    return { ok: false, message: `The body is not valid JSON. ${jsonHelp}` };
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    return { ok: false, message: `The body is not a JSON object. ${jsonHelp}` };
  }
  const parsed = requestSchema.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      message: `The body is not an ExportTraceServiceRequest: look at ${problemPath(parsed.error)}. ${jsonHelp}`,
    };
  }
  return { ok: true, traces: readJson(parsed.data) };
}

/**
 * The answer to an export that was taken (HTTP 200): an ExportTraceServiceResponse, with
 * `partialSuccess` when `partial` is given (spans rejected, or a warning with 0 rejected), in `format`.
 */
export function encodeTraceResponse(
  format: OtlpFormat,
  partial: { rejectedSpans: number; errorMessage: string } | undefined,
): Uint8Array | string {
  const message = responseType.create(partial ? { partialSuccess: partial } : {});
  if (format === 'protobuf') return responseType.encode(message).finish();
  return JSON.stringify(responseType.toObject(message, { longs: String }));
}

/** google.rpc.Code for each HTTP status /v1/traces answers with (OTLP leaves `code` optional; it helps logs). */
const rpcCodeByHttpStatus: Record<number, number> = {
  400: 3, // INVALID_ARGUMENT
  401: 16, // UNAUTHENTICATED
  405: 12, // UNIMPLEMENTED
  413: 8, // RESOURCE_EXHAUSTED
  415: 3, // INVALID_ARGUMENT
  429: 8, // RESOURCE_EXHAUSTED
  500: 13, // INTERNAL
};

/**
 * The body of a 4xx or 5xx answer, which OTLP/HTTP says MUST be a google.rpc.Status in the request's
 * format; `message` says what went wrong and what to send instead.
 */
export function encodeStatus(format: OtlpFormat, httpStatus: number, message: string): Uint8Array | string {
  const status = statusType.create({ code: rpcCodeByHttpStatus[httpStatus] ?? 2, message });
  if (format === 'protobuf') return statusType.encode(status).finish();
  return JSON.stringify(statusType.toObject(status));
}
