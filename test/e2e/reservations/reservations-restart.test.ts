import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AllotClient } from '../../../src/gateway/allot-client';
import { freePort, runCli, type Spawned, spawnServer, tempDir, waitForHealthy, withTimeout } from '../../start/spawn';
import { createTestDatabase, onPostgres, type TestDatabase } from '../../support/db';

// A server killed with SIGKILL while reservations are open holds nothing forever: after a restart the
// sweeper expires what passed its deadline, and what has not stays held (nothing is lost either).

let dir: Awaited<ReturnType<typeof tempDir>>;
let tdb: TestDatabase | undefined;
let env: Record<string, string | undefined>;
let server: Spawned | undefined;

beforeAll(async () => {
  dir = await tempDir('allot-resv-kill-');
  if (onPostgres) {
    tdb = await createTestDatabase({ poolMax: 1 });
    env = { DATABASE_URL: tdb.url, LOG_LEVEL: 'warn' };
  } else {
    env = { DATA_DIR: path.join(dir.path, 'data'), LOG_LEVEL: 'warn' };
  }
});
afterAll(async () => {
  server?.child.kill('SIGKILL');
  await server?.exited;
  await tdb?.close();
  await dir.remove();
});

async function cli(...args: string[]): Promise<string> {
  const result = await runCli(args, env);
  if (result.code !== 0) throw new Error(`allot ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

async function start(): Promise<{ server: Spawned; port: number }> {
  const port = await freePort();
  const spawned = spawnServer({ ...env, PORT: String(port) });
  await waitForHealthy(spawned, port);
  return { server: spawned, port };
}

it('after a kill -9 and a restart, reservations past their deadline expire and the others stay held', async () => {
  await cli('org', 'create', 'acme');
  await cli('member', 'add', 'acme', 'Ana Lima', '--email', 'ana@acme.test');
  await cli('grant', 'acme', '10000', 'ana@acme.test', '--memo', 'welcome');
  const apiKey = (await cli('apikey', 'create', 'acme', 'gateway')).split('\n')[0]!.trim();
  expect(apiKey).toMatch(/^allot_/);

  let started = await start();
  server = started.server;
  let allot = new AllotClient({ baseUrl: `http://127.0.0.1:${started.port}`, apiKey });
  await allot.reserve({ id: 'short', user: 'ana@acme.test', tokens: 3_000, timeoutSeconds: 1 });
  await allot.reserve({ id: 'long', user: 'ana@acme.test', tokens: 2_000, timeoutSeconds: 3_600 });
  expect(await allot.entitlement('ana@acme.test')).toMatchObject({ held: 5_000, available: 5_000 });

  server.child.kill('SIGKILL');
  await withTimeout(server.exited, 10_000, 'the killed server to exit');
  await new Promise((resolve) => setTimeout(resolve, 1_100));

  started = await start();
  server = started.server;
  allot = new AllotClient({ baseUrl: `http://127.0.0.1:${started.port}`, apiKey });
  // The sweeper runs once at start: the short reservation is gone, the long one is still held.
  expect(await allot.entitlement('ana@acme.test')).toMatchObject({ balance: 10_000, held: 2_000, available: 8_000 });
  await expect(allot.release('short')).rejects.toMatchObject({ status: 409, body: { status: 'expired' } });
  expect(await cli('balance', 'acme', 'ana@acme.test')).toMatch(
    /^Ana Lima <ana@acme\.test> #\d+: wallet 10,000 \(held by AI calls in flight 2,000, available 8,000\), budget 0$/m,
  );
  // The grant cannot be reversed while a call holds part of it; the refusal says why.
  const grantId = /^(\d+)\s.*grant/m.exec(await cli('transfers', 'acme'))?.[1];
  expect(grantId).toBeDefined();
  const reversal = await runCli(['reverse', 'acme', grantId!, 'mistake'], env);
  expect(reversal.code).toBe(1);
  expect(reversal.stderr.trim()).toBe(
    'An account would go below zero (tokens held by AI calls in flight count as spent until they settle); nothing was moved.',
  );
  expect(await allot.release('long')).toMatchObject({ status: 'released', tokens: 2_000 });
  expect(await allot.entitlement('ana@acme.test')).toMatchObject({ held: 0, available: 10_000 });
  expect(await cli('audit')).toMatch(/^Ledger audit of all organisations: OK \(.*holds match open reservations\)/);
  // Two server starts and eight CLI runs, each opening the PGlite folder: about a minute on a busy machine.
}, 180_000);
