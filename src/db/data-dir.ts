import { link, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pgliteMemoryOptions } from './pglite-settings';
import { readPgliteTemplate } from './pglite-template';

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

/** How long a new lock must stay ours before we trust it (see acquireDataDirLock). */
const lockSettleMs = 150;

const readOwner = async (file: string) => Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);

/**
 * Takes the folder's lock file (our pid inside), refusing with DataDirLockedError while a live process
 * holds it. A lock left by a dead process (kill -9, power loss) is taken over.
 *
 * Two processes can find the same stale lock at once. Neither deletes the lock path by name, which
 * could delete the other's fresh lock: each renames the lock to a name of its own and looks at what
 * it moved. Only the one that moved the dead owner's lock goes on; one that moved a fresh lock puts
 * it back (or, if a third process locked in between, leaves that one). Every new lock is read again
 * after a short settle: a process whose lock was moved or replaced meanwhile backs off.
 */
export async function acquireDataDirLock(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = path.join(dataDir, lockFileName);
  for (let attempt = 0; attempt < 8; attempt++) {
    try {
      // Written whole under a name of our own, then linked into place: the lock never exists empty.
      const fresh = `${lockPath}.new-${process.pid}`;
      await writeFile(fresh, `${process.pid}\n`);
      try {
        await link(fresh, lockPath);
      } finally {
        await unlink(fresh).catch(() => {});
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = await readOwner(lockPath);
      if (owner === process.pid || isAlive(owner)) throw new DataDirLockedError(dataDir, owner);
      const moved = `${lockPath}.stale-${process.pid}-${attempt}`;
      try {
        await rename(lockPath, moved);
      } catch (renameError) {
        if ((renameError as NodeJS.ErrnoException).code === 'ENOENT') continue; // another process moved it
        throw renameError;
      }
      if (!Object.is(await readOwner(moved), owner)) {
        // Not the dead owner's lock but a fresh one taken meanwhile: put it back unless a third
        // process has locked since (its lock stands; the owner of the moved one backs off).
        await link(moved, lockPath).catch(() => {});
      }
      await unlink(moved).catch(() => {});
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, lockSettleMs));
    const owner = await readOwner(lockPath);
    if (Number.isNaN(owner)) continue; // moved away meanwhile and not put back: try again
    if (owner !== process.pid) throw new DataDirLockedError(dataDir, owner);
    return async () => {
      if ((await readOwner(lockPath)) === process.pid) await unlink(lockPath).catch(() => {});
    };
  }
  throw new Error(`could not take the lock ${lockPath}`);
}

/**
 * Makes an empty cluster in `folder`: unpacked from the build's template when there is one for this
 * PGlite (seconds, a third of the memory), else by initdb (pglite-template.ts). A template that does
 * not load is skipped, never fatal.
 */
async function initialiseCluster(folder: string): Promise<void> {
  const template = await readPgliteTemplate();
  if (template) {
    try {
      const fresh = await PGlite.create(folder, { ...pgliteMemoryOptions, loadDataDir: template });
      await fresh.close();
      return;
    } catch {
      await rm(folder, { recursive: true, force: true });
    }
  }
  const fresh = await PGlite.create(folder, pgliteMemoryOptions);
  await fresh.close();
}

/**
 * Locks DATA_DIR and makes sure it holds a complete PGlite cluster, returning its path. A first
 * initialisation happens in a scratch folder renamed into place when complete.
 */
export async function openDataDir(dataDir: string): Promise<{ pgdataPath: string; release: () => Promise<void> }> {
  const root = path.resolve(dataDir);
  await mkdir(root, { recursive: true });
  const release = await acquireDataDirLock(root);
  try {
    for (const entry of await readdir(root)) {
      if (entry.startsWith(scratchPrefix)) await rm(path.join(root, entry), { recursive: true, force: true });
      // What a process killed while taking the lock leaves (allot.lock.new-<pid>, allot.lock.stale-<pid>-<n>).
      const taker = /^allot\.lock\.(?:new|stale)-(\d+)/.exec(entry);
      if (taker && !isAlive(Number(taker[1]))) await rm(path.join(root, entry), { force: true });
    }
    const pgdataPath = path.join(root, pgdataName);
    if (!(await exists(path.join(pgdataPath, 'PG_VERSION')))) {
      await rm(pgdataPath, { recursive: true, force: true });
      const scratch = path.join(root, `${scratchPrefix}${process.pid}`);
      await initialiseCluster(scratch);
      await rename(scratch, pgdataPath);
    }
    return { pgdataPath, release };
  } catch (error) {
    await release();
    throw error;
  }
}
