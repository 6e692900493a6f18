import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import {
  freePort,
  killAll,
  runCli,
  spawnProcess,
  spawnServer,
  tempDir,
  waitForHealthy,
  withTimeout,
} from '../start/spawn';

afterEach(killAll);

/** The pid of a process that has certainly exited. */
async function deadPid(): Promise<number> {
  const child = spawnProcess(process.execPath, ['-e', '']);
  await child.exited;
  return child.child.pid!;
}

it('a second process on the same PGlite folder is refused with a clear message, and so is the CLI', async () => {
  const dir = await tempDir();
  const dataDir = path.join(dir.path, 'data');
  try {
    const port = await freePort();
    const first = spawnServer({ DATA_DIR: dataDir, PORT: String(port) });
    await waitForHealthy(first, port);

    const second = spawnServer({ DATA_DIR: dataDir, PORT: String(await freePort()) });
    const { code } = await withTimeout(second.exited, 30_000, 'the second server to refuse');
    expect(code).toBe(3);
    expect(second.stderr()).toContain(`is in use by another Allot process (pid ${first.child.pid})`);
    expect(second.stderr()).toContain('set DATABASE_URL');

    const cli = await runCli(['org', 'list'], { DATA_DIR: dataDir });
    expect(cli.code).toBe(3);
    expect(cli.stderr.trim()).toMatch(/^The allot CLI cannot run beside a running Allot server on embedded PGlite/);
    expect(cli.stderr.trim().split('\n')).toHaveLength(1);

    // The first server never noticed.
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    first.child.kill('SIGTERM');
    expect((await withTimeout(first.exited, 20_000, 'the first server to stop')).code).toBe(0);
  } finally {
    await dir.remove();
  }
}, 150_000);

it('a first start that died half-way (scratch folder, stale lock of a dead pid) does not stop the next start', async () => {
  const dir = await tempDir();
  const dataDir = path.join(dir.path, 'data');
  try {
    const scratch = path.join(dataDir, 'pgdata.init-424242');
    await mkdir(path.join(scratch, 'base'), { recursive: true });
    await writeFile(path.join(scratch, 'base', 'half-written'), 'x'.repeat(1024));
    await writeFile(path.join(dataDir, 'allot.lock'), `${await deadPid()}\n`);

    const port = await freePort();
    const server = spawnServer({ DATA_DIR: dataDir, PORT: String(port) });
    await waitForHealthy(server, port);
    expect((await readdir(dataDir)).sort()).toEqual(['allot.lock', 'pgdata']);
    expect(Number((await readFile(path.join(dataDir, 'allot.lock'), 'utf8')).trim())).toBe(server.child.pid);
    server.child.kill('SIGTERM');
    expect((await withTimeout(server.exited, 20_000, 'the server to stop')).code).toBe(0);
  } finally {
    await dir.remove();
  }
}, 150_000);

it('a first start killed with SIGKILL while it creates the database leaves nothing that stops the next start', async () => {
  const dir = await tempDir();
  const dataDir = path.join(dir.path, 'data');
  try {
    const victim = spawnServer({ DATA_DIR: dataDir, PORT: String(await freePort()) });
    // Wait until the first initialisation is under way, then kill the process without warning.
    const deadline = Date.now() + 60_000;
    let sawScratch = false;
    while (Date.now() < deadline && !sawScratch) {
      sawScratch = existsSync(dataDir) && (await readdir(dataDir)).some((entry) => entry.startsWith('pgdata.init-'));
      if (!sawScratch) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(sawScratch).toBe(true);
    victim.child.kill('SIGKILL');
    await victim.exited;
    expect(existsSync(path.join(dataDir, 'allot.lock'))).toBe(true);

    const port = await freePort();
    const server = spawnServer({ DATA_DIR: dataDir, PORT: String(port) });
    await waitForHealthy(server, port);
    expect((await readdir(dataDir)).sort()).toEqual(['allot.lock', 'pgdata']);
    server.child.kill('SIGTERM');
    expect((await withTimeout(server.exited, 20_000, 'the server to stop')).code).toBe(0);
  } finally {
    await dir.remove();
  }
}, 150_000);
