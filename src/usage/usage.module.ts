import express, { type NextFunction, type Request, type Response } from 'express';
import client from 'prom-client';
import type { AppDeps, AppModule } from '../lib/module';
import { sendLowBalanceAlerts } from './alerts.usecases';
import { authenticateApiKey } from './api-keys.usecases';
import { envelopeHelp, eventsPerRequestMax, requestBytesMax, requestsInFlightPerKeyMax } from './usage.models';
import { ingestUsage } from './usage.usecases';

/** Bound on alert runs waiting in the background; beyond it new ones are skipped (and logged). */
const pendingAlertRunsMax = 100;
/** Media types of a JSON body (RFC 6839 `+json` suffixes included). */
const jsonTypes = ['application/json', 'application/*+json'];

/**
 * The usage API: `POST /v1/usage` with `Authorization: Bearer <key>` and `{"events":[…]}`. Answers
 * 200 with a result per event; 401 without a live key; 415 for a body sent without
 * `Content-Type: application/json`; 413 beyond 1 MiB or 1000 events; 400 for a body that is not the
 * envelope; 429 when one key has too many requests in flight; 405 with `Allow: POST` to any other
 * method. Low-balance alerts run after the answer, so they never slow or fail ingestion.
 */
export function createUsageModule(deps: AppDeps): AppModule {
  const inFlight = new Map<bigint, number>();
  const pendingAlerts = new Set<Promise<unknown>>();
  const events = new client.Counter({
    name: 'allot_usage_events_total',
    help: 'Usage events received on POST /v1/usage and CSV import, by outcome',
    labelNames: ['outcome'] as const,
    registers: [deps.metrics.registry],
  });
  return {
    name: 'usage',
    mount(app) {
      app.post(
        '/v1/usage',
        wrap(authenticate(deps)),
        limitInFlight(inFlight),
        requireJson,
        express.json({ limit: requestBytesMax, type: jsonTypes }),
        wrap(handleUsage(deps, events, pendingAlerts)),
        bodyErrors,
      );
      app.all('/v1/usage', onlyPost);
    },
    async stop() {
      // Let alerts already under way finish before the database closes.
      await Promise.allSettled([...pendingAlerts]);
    },
  };
}

/** `Authorization: Bearer <key>` → the key's organisation in `res.locals`; 401 without a live key. */
function authenticate(deps: Pick<AppDeps, 'ctx'>) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      res.status(401).json({
        error: 'unauthorized',
        message: 'Send your API key as "Authorization: Bearer allot_…"; an admin creates one with allot apikey create.',
      });
      return;
    }
    const key = await authenticateApiKey(deps.ctx, match[1]!);
    if (!key) {
      res.status(401).json({
        error: 'unauthorized',
        message: 'This API key is unknown or revoked; ask an admin for a new one (allot apikey create).',
      });
      return;
    }
    res.locals.orgId = key.orgId;
    res.locals.keyId = key.keyId;
    next();
  };
}

/** At most `requestsInFlightPerKeyMax` requests per key at once (429 with Retry-After beyond), counted in `inFlight`. */
function limitInFlight(inFlight: Map<bigint, number>) {
  return (_req: Request, res: Response, next: NextFunction) => {
    const keyId = res.locals.keyId as bigint;
    const current = inFlight.get(keyId) ?? 0;
    if (current >= requestsInFlightPerKeyMax) {
      res.set('Retry-After', '1');
      res.status(429).json({
        error: 'too_many_requests',
        message: `At most ${requestsInFlightPerKeyMax} requests per key at once; wait for an answer before sending more.`,
      });
      return;
    }
    inFlight.set(keyId, current + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (inFlight.get(keyId) ?? 1) - 1;
      if (left <= 0) inFlight.delete(keyId);
      else inFlight.set(keyId, left);
    };
    res.on('finish', release);
    res.on('close', release);
    next();
  };
}

/**
 * Ingests the envelope's events and answers each; counts outcomes in `events`; starts the
 * low-balance alerts after the answer, at most `pendingAlertRunsMax` runs at once.
 */
function handleUsage(
  deps: Pick<AppDeps, 'ctx' | 'logger' | 'notifier' | 'config'>,
  events: client.Counter<'outcome'>,
  pendingAlerts: Set<Promise<unknown>>,
) {
  return async (req: Request, res: Response) => {
    const body = req.body as unknown;
    const list =
      body && typeof body === 'object' && !Array.isArray(body) ? (body as { events?: unknown }).events : undefined;
    if (!Array.isArray(list)) {
      res.status(400).json({ error: 'bad_request', message: envelopeHelp });
      return;
    }
    if (list.length > eventsPerRequestMax) {
      res.status(413).json({
        error: 'payload_too_large',
        message: `At most ${eventsPerRequestMax} events per request (got ${list.length}); split the batch.`,
      });
      return;
    }
    const orgId = res.locals.orgId as bigint;
    const result = await ingestUsage(deps.ctx, { orgId, events: list, platform: 'api' });
    if (!result.ok) {
      // Only an organisation deleted under a live key gets here; the count was checked above.
      res.status(result.failure === 'too_many_events' ? 413 : 401).json({ error: result.failure });
      return;
    }
    const report = result.value;
    events.inc({ outcome: 'accepted' }, report.accepted);
    events.inc({ outcome: 'duplicate' }, report.duplicate);
    events.inc({ outcome: 'rejected' }, report.rejected);
    res.status(200).json({
      accepted: report.accepted,
      duplicate: report.duplicate,
      rejected: report.rejected,
      unpriced_models: report.unpricedModels,
      results: report.results,
    });
    if (report.debits.length > 0) {
      if (pendingAlerts.size >= pendingAlertRunsMax) {
        deps.logger.warn({ orgId }, 'low-balance alerts skipped: too many runs pending');
        return;
      }
      const run = sendLowBalanceAlerts(
        deps.ctx,
        { notifier: deps.notifier, logger: deps.logger },
        { orgId, debits: report.debits, percents: deps.config.LOW_BALANCE_ALERT_PERCENTS },
      ).finally(() => pendingAlerts.delete(run));
      pendingAlerts.add(run);
    }
  };
}

/** JSON only: a body sent as anything else is answered 415, naming the header to send (before it is read). */
function requireJson(req: Request, res: Response, next: NextFunction): void {
  // type-is answers null for a request without a body; that one is answered 400 as not the envelope.
  if (req.is(jsonTypes) === false) {
    res.status(415).json({
      error: 'unsupported_media_type',
      message: `Send the body as JSON with the header "Content-Type: application/json" (got "${String(req.get('content-type') ?? 'none').slice(0, 100)}").`,
    });
    return;
  }
  next();
}

/** Any other method on the route: 405 with the one method it takes. */
function onlyPost(req: Request, res: Response): void {
  res.set('Allow', 'POST');
  res.status(405).json({
    error: 'method_not_allowed',
    message: `${req.method} is not supported here; POST {"events":[…]} with "Authorization: Bearer <key>".`,
  });
}

// Body errors of this route get friendly JSON here rather than the app-wide handler's bare code.
function bodyErrors(error: unknown, _req: Request, res: Response, next: NextFunction): void {
  const type = (error as { type?: string }).type;
  if (type === 'entity.too.large') {
    res.status(413).json({
      error: 'payload_too_large',
      message: `At most ${requestBytesMax} bytes (1 MiB) per request; send fewer events per request.`,
    });
    return;
  }
  if (type === 'entity.parse.failed' || type === 'encoding.unsupported' || type === 'charset.unsupported') {
    res.status(400).json({ error: 'bad_request', message: `The body is not valid JSON. ${envelopeHelp}` });
    return;
  }
  next(error);
}

/** Express 5 forwards a rejected promise to the error handlers; this keeps the types plain. */
function wrap(handler: (req: Request, res: Response, next: NextFunction) => Promise<void> | void) {
  return (req: Request, res: Response, next: NextFunction) => Promise.resolve(handler(req, res, next)).catch(next);
}
