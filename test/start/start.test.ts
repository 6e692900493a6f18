import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, onPostgres, type TestDatabase } from '../support/db';
import {
  freePort,
  interruptGroup,
  killAll,
  runCli,
  type Spawned,
  spawnNpmStart,
  spawnServer,
  tempDir,
  waitForHealthy,
  withTimeout,
} from './spawn';

/** Waits for Allot's own word that it has started: /healthz answers before the modules' first sweeps end. */
async function waitForListening(server: Spawned): Promise<void> {
  await withTimeout(
    (async () => {
      while (!server.stdout().includes('Allot is listening')) await new Promise((resolve) => setTimeout(resolve, 50));
    })(),
    30_000,
    'Allot to say it is listening',
  );
}

/** How many log lines carry this message. */
function linesSaying(server: Spawned, msg: string): number {
  return server
    .stdout()
    .split('\n')
    .filter((line) => line.includes(`"msg":"${msg}`)).length;
}

/**
 * Ctrl-C on `npm start` in a terminal: SIGINT to its whole process group, so the server gets one
 * directly and a second forwarded by npm, while it is already shutting down. It must still finish
 * (every module stopped, the database closed) and exit 0, saying so once.
 */
async function expectCtrlCStopsCleanly(env: Record<string, string | undefined>): Promise<Spawned> {
  const port = await freePort();
  const server = spawnNpmStart({ ...env, PORT: String(port) }, { detached: true });
  await waitForHealthy(server, port, 90_000);
  await waitForListening(server);
  // As at a terminal, the key is pressed on a server at rest: a server still busy when both signals land
  // takes them in one go, and would hide the second.
  await new Promise((resolve) => setTimeout(resolve, 500));
  interruptGroup(server);
  const { code } = await withTimeout(server.exited, 30_000, 'npm start to stop');
  expect(code, `${server.stderr()}\n${server.stdout()}`).toBe(0);
  expect(linesSaying(server, 'shutting down, finishing work in flight')).toBe(1);
  // npm's forwarded copy of the one Ctrl-C is no second press: nothing said about it.
  expect(linesSaying(server, 'already shutting down')).toBe(0);
  expect(server.stdout()).toContain('Allot stopped');
  return server;
}

describe('`npm start` on a fresh PGlite folder', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let dataDir: string;
  let port: number;
  let server: Spawned;

  beforeAll(async () => {
    dir = await tempDir();
    dataDir = path.join(dir.path, 'data');
    port = await freePort();
    server = spawnNpmStart({ DATA_DIR: dataDir, PORT: String(port) });
    await waitForHealthy(server, port, 90_000);
  }, 120_000);
  afterAll(async () => {
    killAll();
    await dir.remove();
  });

  it('migrates the database, answers /healthz and /metrics, and says what to configure', async () => {
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', database: 'pglite' });
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await metrics.text()).toContain('allot_http_requests_total');
    expect(existsSync(path.join(dataDir, 'allot.lock'))).toBe(true);
    expect(server.stdout()).toContain('Slack is off: set SLACK_BOT_TOKEN');
    expect(server.stdout()).toContain('Teams is off: POST /api/messages answers 401');
  });

  it('a second server on the same folder is refused with a clear message, and the first never notices', async () => {
    const second = spawnServer({ DATA_DIR: dataDir, PORT: String(await freePort()) });
    const { code } = await withTimeout(second.exited, 60_000, 'the second server to refuse');
    expect(code).toBe(3);
    expect(second.stderr()).toContain('is in use by another Allot process (pid');
    expect(second.stderr()).toContain('set DATABASE_URL');
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  }, 90_000);

  it('the CLI on the same folder works through the server’s socket, and the folder keeps its one writer', async () => {
    const lockPath = path.join(dataDir, 'allot.lock');
    const owner = readFileSync(lockPath, 'utf8');
    const cli = await runCli(['--verbose', 'org', 'create', 'beside'], { DATA_DIR: dataDir });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/^Created organisation beside/);
    expect(cli.stderr).toContain(`Database: PGlite at ${dataDir}, through the running server's socket`);
    expect(readFileSync(lockPath, 'utf8')).toBe(owner);
    expect((await runCli(['org', 'list'], { DATA_DIR: dataDir })).stdout).toMatch(/beside/);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  }, 90_000);

  it('SIGTERM stops it cleanly (exit 0) and releases the folder', async () => {
    server.child.kill('SIGTERM');
    const { code } = await withTimeout(server.exited, 30_000, 'the server to stop');
    expect(code).toBe(0);
    expect(server.stdout()).toContain('Allot stopped');
    expect(existsSync(path.join(dataDir, 'allot.lock'))).toBe(false);
    expect(existsSync(path.join(dataDir, '.s.PGSQL.5432'))).toBe(false);
  }, 60_000);

  // CI once caught `npm start` killed by a SIGINT sent as soon as /healthz answered: the handlers went in
  // only after every module had started. A stop at any moment of the start is the same case.
  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)(
    '%s while it starts (database open, not yet listening) stops it cleanly once the start is done',
    async (signal) => {
      const starting = spawnServer({ DATA_DIR: dataDir, PORT: String(await freePort()) });
      const deadline = Date.now() + 60_000;
      while (!starting.stdout().includes('"msg":"database ready"')) {
        if (Date.now() > deadline) throw new Error(`no "database ready":\n${starting.stderr()}\n${starting.stdout()}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      starting.child.kill(signal);
      const { code } = await withTimeout(starting.exited, 60_000, 'the server to stop');
      expect(code, starting.stderr()).toBe(0);
      expect(starting.stdout()).toContain(`"signal":"${signal}"`);
      expect(starting.stdout()).toContain('Allot stopped');
      expect(existsSync(path.join(dataDir, 'allot.lock'))).toBe(false);
    },
    90_000,
  );

  // A newcomer's Ctrl-C once killed the server half-way through its shutdown: the handlers were
  // `process.once`, so npm's forwarded second SIGINT met Node's default action (npm exit 130, the lock
  // and the socket left in DATA_DIR).
  it('Ctrl-C on `npm start` (SIGINT to its process group, twice to the server) stops it cleanly and releases the folder', async () => {
    const ownDataDir = path.join(dir.path, 'ctrl-c');
    await expectCtrlCStopsCleanly({ DATA_DIR: ownDataDir });
    expect(existsSync(path.join(ownDataDir, 'allot.lock'))).toBe(false);
    expect(existsSync(path.join(ownDataDir, '.s.PGSQL.5432'))).toBe(false);
  }, 120_000);
});

describe.runIf(onPostgres)('`npm start` with DATABASE_URL', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ poolMax: 1 });
  });
  afterAll(async () => {
    killAll();
    await database.close();
  });

  it('runs on Postgres, answers /healthz, and stops cleanly on SIGINT', async () => {
    const port = await freePort();
    const server = spawnNpmStart({ DATABASE_URL: database.url, PORT: String(port) });
    await waitForHealthy(server, port);
    expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()).toEqual({
      status: 'ok',
      database: 'postgres',
    });
    server.child.kill('SIGINT');
    expect((await withTimeout(server.exited, 30_000, 'the server to stop')).code).toBe(0);
  }, 120_000);

  it('Ctrl-C on `npm start` (SIGINT to its process group, twice to the server) stops it cleanly', async () => {
    await expectCtrlCStopsCleanly({ DATABASE_URL: database.url });
  }, 120_000);
});

it('a bad configuration stops `npm start` with one line per problem, each naming its variable', async () => {
  const server = spawnNpmStart({
    PORT: 'eighty',
    LOG_LEVEL: 'loud',
    DATABASE_URL: 'mysql://nope',
    SLACK_BOT_TOKEN: 'xoxp-user-token',
  });
  const { code } = await withTimeout(server.exited, 60_000, 'the server to refuse its configuration');
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
}, 90_000);

describe('`npm start` installed to Slack workspaces (SLACK_CLIENT_ID)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    dir = await tempDir();
    if (onPostgres) database = await createTestDatabase({ poolMax: 1 });
  });
  afterAll(async () => {
    killAll();
    await dir.remove();
    await database?.close();
  });

  it('the built server serves the Add to Slack page, refuses a forged state, and stops cleanly', async () => {
    const port = await freePort();
    const server = spawnNpmStart({
      ...(database ? { DATABASE_URL: database.url } : { DATA_DIR: path.join(dir.path, 'data') }),
      PORT: String(port),
      SLACK_CLIENT_ID: '1111.2222',
      SLACK_CLIENT_SECRET: 'client-secret',
      SLACK_STATE_SECRET: 'state-secret-of-at-least-20',
      SLACK_SIGNING_SECRET: 'signing-secret',
      ALLOT_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
    });
    await waitForHealthy(server, port, 90_000);
    const page = await fetch(`http://127.0.0.1:${port}/slack/install`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Add to Slack');
    expect(page.headers.get('set-cookie')).toMatch(/^slack-app-oauth-state=.+; Secure; HttpOnly/);
    const forged = await fetch(`http://127.0.0.1:${port}/slack/oauth_redirect?code=c&state=forged`, {
      headers: { cookie: 'slack-app-oauth-state=forged' },
    });
    expect(forged.status).toBe(400);
    expect(server.stdout()).toContain('workspaces install Allot at /slack/install');
    // /healthz answers before start-up has finished; a signal is handled once Allot says it listens.
    await waitForListening(server);
    server.child.kill('SIGTERM');
    expect((await withTimeout(server.exited, 30_000, 'the server to stop')).code).toBe(0);
  }, 120_000);
});
