import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type client from 'prom-client';
import type { AppDeps } from '../app/module';
import { authenticate, limitInFlight, onlyMethods, type Refuse, wrap } from './api.middleware';
import { partialSuccess, spansPerRequestMax } from './otlp.models';
import { ingestTraces } from './otlp.usecases';
import {
  decodeTraces,
  encodeStatus,
  encodeTraceResponse,
  type OtlpFormat,
  otlpContentTypes,
  otlpFormatOf,
} from './otlp-wire.models';
import { requestBytesMax } from './usage.models';
import type { WalletDebit } from './usage.usecases';

// POST /v1/traces: OTLP/HTTP (OpenTelemetry Protocol specification, "OTLP/HTTP") for GenAI spans.
// Mounted by the usage module beside /v1/usage, with its API keys, its bound on requests in flight per
// key (shared: one key's /v1/usage and /v1/traces requests count together) and its 1 MiB body limit.

/** What the usage module shares with this route. */
export interface TracesRouteDeps {
  deps: Pick<AppDeps, 'ctx'>;
  /** Requests in flight per API key, shared with /v1/usage. */
  inFlight: Map<bigint, number>;
  /** Spans received, by outcome (accepted, duplicate, rejected, ignored). */
  spans: client.Counter<'outcome'>;
  /** Starts the low-balance alerts after the answer. */
  alertAfter: (orgId: bigint, debits: WalletDebit[]) => void;
}

/** Sends an OTLP body (protobuf bytes or JSON text) with the format's Content-Type. */
function sendOtlp(res: Response, status: number, format: OtlpFormat, body: Uint8Array | string): void {
  res.status(status).type(otlpContentTypes[format]);
  res.send(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
}

/** The request's OTLP format, or JSON when it names none (a refusal must still be readable). */
function answerFormat(req: Request): OtlpFormat {
  return otlpFormatOf(req.get('content-type')) ?? 'json';
}

/** Every 4xx and 5xx of /v1/traces: a google.rpc.Status in the request's format, as OTLP/HTTP requires. */
function sendStatus(req: Request, res: Response, status: number, message: string): void {
  const format = answerFormat(req);
  sendOtlp(res, status, format, encodeStatus(format, status, message));
}

const refuseOtlp: Refuse = (req, res, status, _error, message) => sendStatus(req, res, status, message);

/** 415 for a body that is neither OTLP encoding, before it is read. */
function requireOtlpContentType(req: Request, res: Response, next: NextFunction): void {
  if (otlpFormatOf(req.get('content-type')) === undefined) {
    sendStatus(
      req,
      res,
      415,
      'Send the spans as OTLP/HTTP with "Content-Type: application/x-protobuf" (binary protobuf) or ' +
        `"Content-Type: application/json" (OTLP/JSON); got "${String(req.get('content-type') ?? 'none').slice(0, 100)}".`,
    );
    return;
  }
  next();
}

/** The body as bytes, inflated when sent with `Content-Encoding: gzip` (or deflate); at most 1 MiB inflated. */
const otlpBody = express.raw({ type: () => true, limit: requestBytesMax, inflate: true });

/** Body errors in OTLP's words: 413 too large, 415 an unknown Content-Encoding, 400 a body that does not inflate. */
function otlpBodyErrors(error: unknown, req: Request, res: Response, next: NextFunction): void {
  const { type, status } = error as { type?: string; status?: number };
  if (type === 'entity.too.large') {
    sendStatus(
      req,
      res,
      413,
      `At most ${requestBytesMax} bytes (1 MiB) per request, inflated; export fewer spans at once.`,
    );
  } else if (type === 'encoding.unsupported') {
    sendStatus(
      req,
      res,
      415,
      `Content-Encoding "${String(req.get('content-encoding')).slice(0, 40)}" is not supported; send gzip or none.`,
    );
  } else if (status === 400) {
    // zlib's own errors carry no body-parser type; an aborted or short body does (request.aborted, …).
    const encoding = req.get('content-encoding');
    sendStatus(
      req,
      res,
      400,
      encoding && type === undefined
        ? `The body does not inflate as Content-Encoding "${encoding.slice(0, 40)}" says; send it compressed with that encoding, or without the header.`
        : 'The body could not be read whole; send it again.',
    );
  } else next(error);
}

/**
 * Mounts `POST /v1/traces`: 200 with an ExportTraceServiceResponse (partialSuccess naming each rejected
 * span and what to fix, and counting spans without GenAI usage, which are ignored); 400 for a body that
 * does not decode or inflate; 401 without a live key; 413 beyond 1 MiB or 1000 spans; 415 for another
 * Content-Type or Content-Encoding; 429 beyond the key's requests in flight (`Retry-After: 1`); 405 to any
 * other method. Every refusal is a google.rpc.Status in the request's format.
 */
export function mountTracesRoute(app: Express, route: TracesRouteDeps): void {
  app.post(
    '/v1/traces',
    authenticate(route.deps.ctx, refuseOtlp),
    limitInFlight(route.inFlight, undefined, refuseOtlp),
    requireOtlpContentType,
    otlpBody,
    wrap((req, res) => handleTraces(route, req, res)),
    otlpBodyErrors,
  );
  app.all('/v1/traces', onlyMethods('POST', 'POST OTLP/HTTP spans (application/x-protobuf or application/json)'));
}

async function handleTraces(route: TracesRouteDeps, req: Request, res: Response): Promise<void> {
  const format = otlpFormatOf(req.get('content-type'))!;
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const decoded = decodeTraces(format, body);
  if (!decoded.ok) {
    sendStatus(req, res, 400, decoded.message);
    return;
  }
  const tooMany = `At most ${spansPerRequestMax} spans per request (got ${decoded.traces.spanCount}); set the batch span processor's maxExportBatchSize (OTEL_BSP_MAX_EXPORT_BATCH_SIZE) to ${spansPerRequestMax} or less.`;
  if (decoded.traces.spanCount > spansPerRequestMax) {
    sendStatus(req, res, 413, tooMany);
    return;
  }
  const orgId = res.locals.orgId as bigint;
  const result = await ingestTraces(route.deps.ctx, { orgId, traces: decoded.traces });
  if (!result.ok) {
    // Only an organisation deleted under a live key gets here; the count was checked above.
    if (result.failure === 'too_many_spans') sendStatus(req, res, 413, tooMany);
    else sendStatus(req, res, 401, 'This API key belongs to no organisation any more; ask an admin for a new one.');
    return;
  }
  const report = result.value;
  route.spans.inc({ outcome: 'accepted' }, report.accepted);
  route.spans.inc({ outcome: 'duplicate' }, report.duplicate);
  route.spans.inc({ outcome: 'rejected' }, report.rejected.length);
  route.spans.inc({ outcome: 'ignored' }, report.ignored);
  sendOtlp(res, 200, format, encodeTraceResponse(format, partialSuccess(report)));
  route.alertAfter(orgId, report.debits);
}
