import client from 'prom-client';

/** One registry per running app, so tests can start several apps in one process. */
export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new client.Counter({
      name: 'allot_http_requests_total',
      help: 'HTTP requests served, by route and status',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
    }),
    /**
     * Seconds from a request reaching the app to its answer being written, by route (the route's path
     * pattern, e.g. `/v1/reservations/:id/settle`): a gateway's wait on Allot, as Allot sees it.
     */
    httpRequestDuration: new client.Histogram({
      name: 'allot_http_request_duration_seconds',
      help: 'Time from a request reaching Allot to its answer written, by route',
      labelNames: ['route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    chatCommands: new client.Counter({
      name: 'allot_chat_commands_total',
      help: 'Chat commands handled, by platform, command and outcome',
      labelNames: ['platform', 'command', 'outcome'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
