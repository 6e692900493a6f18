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
    chatCommands: new client.Counter({
      name: 'allot_chat_commands_total',
      help: 'Chat commands handled, by platform, command and outcome',
      labelNames: ['platform', 'command', 'outcome'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
