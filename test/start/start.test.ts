import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, onPostgres, type TestDatabase } from '../support/db';
import { freePort, killAll, spawnNpmStart, tempDir, waitForHealthy, withTimeout } from './spawn';

let postgresDatabase: TestDatabase | undefined;
beforeAll(async () => {
  if (onPostgres) postgresDatabase = await createTestDatabase({ poolMax: 1 });
});
afterAll(async () => postgresDatabase?.close());
afterEach(killAll);

it('`npm start` on a fresh folder migrates PGlite, answers /healthz and /metrics, and stops cleanly on SIGTERM', async () => {
  const dir = await tempDir();
  const dataDir = path.join(dir.path, 'data');
  const port = await freePort();
  try {
    const server = spawnNpmStart({ DATA_DIR: dataDir, PORT: String(port) });
    await waitForHealthy(server, port);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok', database: 'pglite' });
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await metrics.text()).toContain('allot_http_requests_total');
    expect(existsSync(path.join(dataDir, 'allot.lock'))).toBe(true);
    // It says what is configured and what to set.
    expect(server.stdout()).toContain('Slack is off: set SLACK_BOT_TOKEN');

    server.child.kill('SIGTERM');
    const { code } = await withTimeout(server.exited, 20_000, 'the server to stop');
    expect(code).toBe(0);
    expect(server.stdout()).toContain('Allot stopped');
    // The lock is released, so the next start (or the CLI) may open the folder.
    expect(existsSync(path.join(dataDir, 'allot.lock'))).toBe(false);
  } finally {
    await dir.remove();
  }
}, 120_000);

it.runIf(onPostgres)('`npm start` with DATABASE_URL runs on Postgres and answers /healthz', async () => {
  const port = await freePort();
  const server = spawnNpmStart({ DATABASE_URL: postgresDatabase!.url, PORT: String(port) });
  await waitForHealthy(server, port);
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  expect(await health.json()).toEqual({ status: 'ok', database: 'postgres' });
  server.child.kill('SIGINT');
  expect((await withTimeout(server.exited, 20_000, 'the server to stop')).code).toBe(0);
});

it('a bad configuration stops `npm start` with one line per problem, each naming its variable', async () => {
  const server = spawnNpmStart({
    PORT: 'eighty',
    LOG_LEVEL: 'loud',
    DATABASE_URL: 'mysql://nope',
    SLACK_BOT_TOKEN: 'xoxp-user-token',
  });
  const { code } = await withTimeout(server.exited, 30_000, 'the server to refuse its configuration');
  expect(code).toBe(2);
  const lines = server
    .stderr()
    .split('\n')
    .filter((line) => line.startsWith('config: '));
  expect(lines.map((line) => line.split(':')[1]?.trim()).sort()).toEqual([
    'DATABASE_URL',
    'LOG_LEVEL',
    'PORT',
    'SLACK_BOT_TOKEN',
  ]);
  expect(server.stdout()).not.toContain('Allot is listening');
});
