import type { Request, Response } from 'express';
import client from 'prom-client';
import type { AppDeps, AppModule } from '../app/module';
import type { AlertRunner } from './alerts.usecases';
import { authenticate, bodyErrors, jsonBody, limitInFlight, onlyMethods, requireJson, wrap } from './api.middleware';
import { mountTracesRoute } from './otlp.module';
import { envelopeHelp, eventsPerRequestMax } from './usage.models';
import { ingestUsage, type WalletDebit } from './usage.usecases';

/**
 * The usage API: `POST /v1/usage` with `Authorization: Bearer <key>` and `{"events":[…]}`. Answers
 * 200 with a result per event; 401 without a live key; 415 for a body sent without
 * `Content-Type: application/json`; 413 beyond 1 MiB or 1000 events; 400 for a body that is not the
 * envelope; 429 when one key has too many requests in flight; 405 with `Allow: POST` to any other
 * method. Low-balance alerts run after the answer, so they never slow or fail ingestion. Also mounts
 * `POST /v1/traces` (otlp.module.ts), which shares the keys, the bound per key and the alerts.
 */
export function createUsageModule(deps: AppDeps, alerts: AlertRunner): AppModule {
  const inFlight = new Map<bigint, number>();
  const events = new client.Counter({
    name: 'allot_usage_events_total',
    help: 'Usage events received on POST /v1/usage and CSV import, by outcome',
    labelNames: ['outcome'] as const,
    registers: [deps.metrics.registry],
  });
  const spans = new client.Counter({
    name: 'allot_otlp_spans_total',
    help: 'Spans received on POST /v1/traces, by outcome (ignored: no GenAI usage)',
    labelNames: ['outcome'] as const,
    registers: [deps.metrics.registry],
  });
  return {
    name: 'usage',
    mount(app) {
      app.post(
        '/v1/usage',
        authenticate(deps.ctx),
        limitInFlight(inFlight),
        requireJson,
        jsonBody,
        wrap(handleUsage(deps, events, alerts.alertAfter)),
        bodyErrors(envelopeHelp),
      );
      app.all('/v1/usage', onlyMethods('POST', 'POST {"events":[…]}'));
      mountTracesRoute(app, { deps, inFlight, spans, alertAfter: alerts.alertAfter });
    },
    async stop() {
      // Let alerts already under way finish before the database closes.
      await alerts.drain();
    },
  };
}

/**
 * Ingests the envelope's events and answers each; counts outcomes in `events`; starts the
 * low-balance alerts after the answer (in the background, bounded: createAlertRunner).
 */
function handleUsage(
  deps: Pick<AppDeps, 'ctx' | 'logger' | 'notifier' | 'config'>,
  events: client.Counter<'outcome'>,
  alertAfter: (orgId: bigint, debits: WalletDebit[]) => void,
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
    alertAfter(orgId, report.debits);
  };
}
