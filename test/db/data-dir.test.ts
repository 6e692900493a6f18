import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import {
  freePort,
  killAll,
  repoRoot,
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

it('a first start killed half-way (scratch folder left, lock of a dead pid) does not stop the next start', async () => {
  const dir = await tempDir();
  const dataDir = path.join(dir.path, 'data');
  try {
    // What an earlier crash leaves: a lock naming a process that is gone, and a half-written scratch folder.
    const staleScratch = path.join(dataDir, 'pgdata.init-424242');
    await mkdir(path.join(staleScratch, 'base'), { recursive: true });
    await writeFile(path.join(staleScratch, 'base', 'half-written'), 'x'.repeat(1024));
    await writeFile(path.join(dataDir, 'allot.lock'), `${await deadPid()}\n`);

    // A first start takes the stale lock over, then is killed without warning while it creates the database.
    const victim = spawnServer({ DATA_DIR: dataDir, PORT: String(await freePort()) });
    const ownScratch = `pgdata.init-${victim.child.pid}`;
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline && !(existsSync(dataDir) && (await readdir(dataDir)).includes(ownScratch))) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(await readdir(dataDir)).toContain(ownScratch);
    expect(existsSync(staleScratch)).toBe(false);
    victim.child.kill('SIGKILL');
    await victim.exited;
    expect(Number((await readFile(path.join(dataDir, 'allot.lock'), 'utf8')).trim())).toBe(victim.child.pid);

    // The next start finds the lock's owner dead, clears the scratch folder and starts from scratch.
    const port = await freePort();
    const server = spawnServer({ DATA_DIR: dataDir, PORT: String(port) });
    await waitForHealthy(server, port, 90_000);
    expect((await readdir(dataDir)).sort()).toEqual(['.s.PGSQL.5432', 'allot.lock', 'pgdata']);
    expect(Number((await readFile(path.join(dataDir, 'allot.lock'), 'utf8')).trim())).toBe(server.child.pid);
    server.child.kill('SIGTERM');
    expect((await withTimeout(server.exited, 30_000, 'the server to stop')).code).toBe(0);
    expect(await readdir(dataDir)).toEqual(['pgdata']);
  } finally {
    await dir.remove();
  }
}, 240_000);

it('processes racing for a lock left by a dead process: exactly one takes it, the others are refused', async () => {
  const dir = await tempDir();
  try {
    const dataDir = path.join(dir.path, 'data');
    await mkdir(dataDir, { recursive: true });
    await writeFile(path.join(dataDir, 'allot.lock'), `${await deadPid()}\n`);
    const go = path.join(dir.path, 'go');
    const script = path.join(dir.path, 'take-lock.mts');
    await writeFile(
      script,
      `import { existsSync, writeFileSync } from 'node:fs';
       import { acquireDataDirLock, DataDirLockedError } from ${JSON.stringify(path.join(repoRoot, 'src/db/data-dir.ts'))};
       writeFileSync(${JSON.stringify(dir.path)} + '/ready-' + process.pid, '');
       while (!existsSync(${JSON.stringify(go)})) await new Promise((resolve) => setTimeout(resolve, 1));
       try {
         const release = await acquireDataDirLock(${JSON.stringify(dataDir)});
         console.log('acquired');
         await new Promise((resolve) => setTimeout(resolve, 1500));
         await release();
       } catch (error) {
         if (!(error instanceof DataDirLockedError)) throw error;
         console.log('refused');
       }`,
    );
    const racers = Array.from({ length: 6 }, () => spawnProcess(process.execPath, ['--import', 'tsx', script]));
    const deadline = Date.now() + 60_000;
    while ((await readdir(dir.path)).filter((entry) => entry.startsWith('ready-')).length < racers.length) {
      if (Date.now() > deadline) throw new Error('the racers did not start');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await writeFile(go, '');
    const exits = await withTimeout(Promise.all(racers.map((racer) => racer.exited)), 60_000, 'the racers');
    expect(exits.map((exit) => exit.code)).toEqual(racers.map(() => 0));
    const outcomes = racers.map((racer) => racer.stdout().trim()).sort();
    expect(outcomes).toEqual(['acquired', 'refused', 'refused', 'refused', 'refused', 'refused']);
    // The winner released its lock; nothing of the race is left behind.
    expect(await readdir(dataDir)).toEqual([]);
  } finally {
    await dir.remove();
  }
}, 120_000);
