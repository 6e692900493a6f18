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
    transfers: new client.Counter({
      name: 'allot_transfers_total',
      help: 'Ledger operations posted through chat, the API and the CLI, by code and outcome',
      labelNames: ['code', 'outcome'] as const,
      registers: [registry],
    }),
    chatCommands: new client.Counter({
      name: 'allot_chat_commands_total',
      help: 'Chat commands handled, by platform, command and outcome',
      labelNames: ['platform', 'command', 'outcome'] as const,
      registers: [registry],
    }),
    ackLatency: new client.Histogram({
      name: 'allot_chat_ack_seconds',
      help: 'Time from receiving a chat request to acknowledging it',
      labelNames: ['platform'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 3],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
