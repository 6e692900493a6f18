import { chmod, link, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
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
export const pgdataName = 'pgdata';
export const scratchPrefix = 'pgdata.init-';

export function isAlive(pid: number): boolean {
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

/** The live process holding DATA_DIR's lock, or undefined when nobody does (or only a dead one did). */
export async function dataDirOwner(dataDir: string): Promise<number | undefined> {
  const owner = await readOwner(path.join(dataDir, lockFileName));
  return isAlive(owner) && owner !== process.pid ? owner : undefined;
}

/** True when DATA_DIR holds a complete PGlite cluster. */
export async function hasPgdata(dataDir: string): Promise<boolean> {
  return exists(path.join(dataDir, pgdataName, 'PG_VERSION'));
}

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
 * Creates DATA_DIR if needed and makes it owner-only (0700, as PostgreSQL wants its data folder): it
 * holds the database, and the server's socket for the CLI, which only its owner may reach.
 */
export async function ensureDataDir(dataDir: string): Promise<string> {
  const root = path.resolve(dataDir);
  await mkdir(root, { recursive: true, mode: 0o700 });
  await chmod(root, 0o700);
  return root;
}

/** The server's socket for the CLI (see pglite-socket.ts); a dead server leaves it behind. */
const socketName = '.s.PGSQL.5432';

/**
 * Removes what a process killed half-way left in DATA_DIR: scratch clusters of a first start or a
 * restore, the temporary files of taking the lock, and a dead server's socket. Call it holding the lock.
 */
export async function clearLeftovers(root: string): Promise<void> {
  await rm(path.join(root, socketName), { force: true });
  for (const entry of await readdir(root)) {
    if (entry.startsWith(scratchPrefix)) await rm(path.join(root, entry), { recursive: true, force: true });
    // What a process killed while taking the lock leaves (allot.lock.new-<pid>, allot.lock.stale-<pid>-<n>).
    const taker = /^allot\.lock\.(?:new|stale)-(\d+)/.exec(entry);
    if (taker && !isAlive(Number(taker[1]))) await rm(path.join(root, entry), { force: true });
  }
}

/** A scratch folder for a cluster being built; renamed into place only once complete. */
export function scratchPath(root: string): string {
  return path.join(root, `${scratchPrefix}${process.pid}`);
}

/**
 * Locks DATA_DIR and makes sure it holds a complete PGlite cluster, returning its path and whether it
 * was created now. A first initialisation happens in a scratch folder renamed into place when complete.
 */
export async function openDataDir(
  dataDir: string,
): Promise<{ pgdataPath: string; created: boolean; release: () => Promise<void> }> {
  const root = await ensureDataDir(dataDir);
  const release = await acquireDataDirLock(root);
  try {
    await clearLeftovers(root);
    const pgdataPath = path.join(root, pgdataName);
    const created = !(await hasPgdata(root));
    if (created) {
      await rm(pgdataPath, { recursive: true, force: true });
      const scratch = scratchPath(root);
      await initialiseCluster(scratch);
      await rename(scratch, pgdataPath);
    }
    return { pgdataPath, created, release };
  } catch (error) {
    await release();
    throw error;
  }
}
