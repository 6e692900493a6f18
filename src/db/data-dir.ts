import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `DATA_DIR ${dataDir} is in use by another Allot process (pid ${pid}). PGlite serves one process per folder: ` +
        'stop that process, choose another DATA_DIR, or set DATABASE_URL to share one Postgres between replicas.',
    );
    this.name = 'DataDirLockedError';
  }
}

const lockFileName = 'allot.lock';
const pgdataName = 'pgdata';
const scratchPrefix = 'pgdata.init-';

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function exists(target: string): Promise<boolean> {
  try {
    await stat(target);
    return true;
  } catch {
    return false;
  }
}

/** Takes the folder's lock file (pid inside); a lock left by a dead process is taken over. */
async function acquireLock(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = path.join(dataDir, lockFileName);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return async () => {
        const owner = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
        if (owner === process.pid) await unlink(lockPath).catch(() => {});
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
      if (isAlive(owner) && owner !== process.pid) throw new DataDirLockedError(dataDir, owner);
      if (owner === process.pid) throw new DataDirLockedError(dataDir, owner);
      // The owner died without releasing the lock (kill -9, power loss): the folder is free.
      await unlink(lockPath).catch(() => {});
    }
  }
  throw new Error(`could not take the lock ${lockPath}`);
}

/**
 * Locks DATA_DIR and makes sure it holds a complete PGlite cluster, returning its path. A first
 * initialisation happens in a scratch folder renamed into place when complete.
 */
export async function openDataDir(dataDir: string): Promise<{ pgdataPath: string; release: () => Promise<void> }> {
  const root = path.resolve(dataDir);
  await mkdir(root, { recursive: true });
  const release = await acquireLock(root);
  try {
    for (const entry of await readdir(root)) {
      if (entry.startsWith(scratchPrefix)) await rm(path.join(root, entry), { recursive: true, force: true });
    }
    const pgdataPath = path.join(root, pgdataName);
    if (!(await exists(path.join(pgdataPath, 'PG_VERSION')))) {
      await rm(pgdataPath, { recursive: true, force: true });
      const scratch = path.join(root, `${scratchPrefix}${process.pid}`);
      const fresh = await PGlite.create(scratch);
      await fresh.close();
      await rename(scratch, pgdataPath);
    }
    return { pgdataPath, release };
  } catch (error) {
    await release();
    throw error;
  }
}
