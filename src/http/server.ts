import type { Server } from 'node:http';
import express, { type Express } from 'express';
import type { Database } from '../db/client';
import type { Logger } from '../lib/logger';
import type { Metrics } from '../lib/metrics';

/** The one HTTP app: chat adapters and the usage API mount their routes on it. */
export function createHttpApp(deps: { db: Database; metrics: Metrics; logger: Logger }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', true);
  app.use((req, res, next) => {
    const started = performance.now();
    res.on('finish', () => {
      const route = String(req.route?.path ?? (res.statusCode === 404 ? 'unmatched' : req.path));
      deps.metrics.httpRequests.inc({ route, status: String(res.statusCode) });
      deps.metrics.httpRequestDuration.observe({ route }, (performance.now() - started) / 1_000);
    });
    next();
  });

  // 200 only when the database answers: a load balancer takes a replica out while it cannot write.
  app.get('/healthz', async (_req, res) => {
    const healthy = await deps.db.ping();
    res.status(healthy ? 200 : 503).json({ status: healthy ? 'ok' : 'database_unavailable', database: deps.db.kind });
  });

  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', deps.metrics.registry.contentType);
    res.send(await deps.metrics.registry.metrics());
  });
  return app;
}

/** Adds the last handlers: a JSON 404 and an error handler that never leaks internals. */
export function finishHttpApp(app: Express, logger: Logger): void {
  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found' });
  });
  app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const status =
      (error as { status?: number; statusCode?: number }).status ??
      (error as { statusCode?: number }).statusCode ??
      500;
    if (status >= 500) logger.error({ err: error }, 'unhandled error in an HTTP handler');
    if (res.headersSent) return;
    res
      .status(status)
      .json({ error: status === 413 ? 'payload_too_large' : status < 500 ? 'bad_request' : 'internal_error' });
  });
}

/** Listens on `host` (HOST, an address or host name) and `port` (PORT; 0 picks a free one). */
export function listen(app: Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(server)));
    server.on('error', reject);
  });
}
