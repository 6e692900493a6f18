import { Writable } from 'node:stream';
import pino from 'pino';
import { expect, it } from 'vitest';
import type { AppDeps } from '../../src/app/module';
import { boltLogger } from '../../src/slack/slack.wiring';

function capture() {
  const lines: string[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
  return { lines, deps: { logger } as unknown as AppDeps };
}

it("Slack's libraries log through ours with tokens, token fields and the app's secrets replaced", () => {
  const { lines, deps } = capture();
  const logger = boltLogger(deps, ['client-secret-0123456789', undefined, 'short']);
  // What @slack/socket-mode logs at debug for each envelope, and @slack/web-api for each request.
  logger.debug(
    'Received a message on the WebSocket: {"envelope_id":"e1","payload":{"token":"verification-abc","text":"hi"}}',
  );
  logger.debug('http request body:', { code: 'c', client_id: '1.2', client_secret: 'client-secret-0123456789' });
  logger.info('installed with xoxb-1234-5678-abcdef and xapp-1-A1-99-ff, refresh xoxe-1-abc');
  const written = lines.join('');
  for (const secret of ['verification-abc', 'client-secret-0123456789', 'xoxb-1234', 'xapp-1-A1', 'xoxe-1-abc']) {
    expect(written).not.toContain(secret);
  }
  expect(written).toContain('"token\\":\\"[token]\\"');
  expect(written).toContain('client_secret\\":\\"[secret]\\"');
  expect(written).toContain('installed with [token] and [token], refresh [token]');
  expect(lines).toHaveLength(3);
  expect(lines.every((line) => JSON.parse(line).component === 'bolt')).toBe(true);
});
