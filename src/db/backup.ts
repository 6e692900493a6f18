import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { fail, ok, type Result } from '../lib/result';
import {
  acquireDataDirLock,
  clearLeftovers,
  DataDirLockedError,
  ensureDataDir,
  hasPgdata,
  pgdataName,
  scratchPath,
} from './data-dir';
import type { EmbeddedPglite } from './database';
import { migrationsFolder } from './migrate';
import { pgliteOptions } from './pglite-settings';
import { rollBackSession } from './pglite-socket';

// Backups. On PGlite, a plain-SQL dump made by pg_dump (PostgreSQL's own, compiled to WASM by
// @electric-sql/pglite-tools) inside the process that holds the database, while every other user
// of the session waits: one consistent snapshot, even while the server runs. Restore builds a new
// cluster from it in a scratch folder and renames it into place. On PostgreSQL, the operator's own
// pg_dump and pg_restore do the work; the CLI runs them with the URL's password kept out of argv.

/** The first line of every dump pg_dump writes, and a table every Allot database has. */
const pgDumpMarker = '-- PostgreSQL database dump';
const allotMarker = 'CREATE TABLE public.transfers';
/** A custom-format archive (pg_dump -Fc) starts with these bytes. */
export const customFormatMagic = 'PGDMP';

/**
 * A consistent plain-SQL dump of the embedded database (schema, data, and drizzle's migration
 * record). The session is held for the whole dump, so chat work and CLI clients wait for it (about
 * two seconds for a small database). pglite-tools 0.4.8 leaves pg_dump's read-only transaction open
 * and its settings changed in the shared session; both are undone here before anyone else runs.
 */
export async function dumpEmbeddedPglite(embedded: EmbeddedPglite): Promise<string> {
  const { pgDump } = await import('@electric-sql/pglite-tools/pg_dump');
  return embedded.gate.run(async () => {
    try {
      const file = await pgDump({ pg: embedded.client, args: ['--no-owner', '--no-privileges'] });
      return await file.text();
    } finally {
      if (embedded.client.isInTransaction()) await rollBackSession(embedded.client);
      await embedded.client.exec('RESET ALL');
    }
  });
}

/**
 * Writes a backup file as every backup is written, on PGlite and PostgreSQL alike: `write` fills
 * `<target>.partial-<pid>` beside the target, a file created here with mode 0600 before a byte goes
 * in (the dump is the whole ledger: readable by its owner only, whoever writes into it), which is
 * renamed over the target only once `write` has succeeded. On any failure the partial file is removed
 * and the target is as it was: never a half-written backup under the name asked for.
 */
export async function writeBackupFile(target: string, write: (partial: string) => Promise<void>): Promise<void> {
  const partial = `${target}.partial-${process.pid}`;
  // A leftover of a killed run that had this pid (a container's pids repeat) is never ours to keep.
  await rm(partial, { force: true });
  // Created exclusively ('wx'): the mode is the one given here, not that of a file (or link) found there.
  await (await open(partial, 'wx', 0o600)).close();
  try {
    await write(partial);
    await rename(partial, target);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

/** The header put before pg_dump's text: what it is and how to restore it. */
export function backupHeader(input: { source: string; takenAt: Date; version: string }): string {
  return (
    `-- Allot backup of ${input.source}, taken ${input.takenAt.toISOString()} by allot ${input.version}.\n` +
    '-- Restore into an empty PGlite folder with: allot restore <this file>\n'
  );
}

export type RestoreFailure = 'not_a_backup' | 'custom_format' | 'data_dir_in_use' | 'database_not_empty';

export interface RestoreReport {
  dataDir: string;
  organisations: number;
  transfers: number;
  /** Where the database that was there before went, when --force replaced one that held data. */
  replacedKeptAt: string | null;
}

/** Organisations in a PGlite cluster, or 0 when it has no Allot schema yet. */
async function countOrganisations(client: PGlite): Promise<number> {
  const { rows } = await client.query<{ organisations: string | null }>(
    `select case when to_regclass('public.organisations') is null then null
                 else (select count(*) from public.organisations)::text end as organisations`,
  );
  return Number(rows[0]?.organisations ?? 0);
}

/**
 * Restores a plain-SQL backup into the PGlite folder `dataDir`. Refuses while any process holds the
 * folder (a running server: stop it first), and refuses to replace a database that holds
 * organisations unless `force` (the old one is then kept beside it as `pgdata.replaced-<time>`, never
 * deleted). The dump is loaded in one transaction into a scratch cluster, which gets the migrations
 * this copy of Allot has on top, and is renamed into place only when complete: a failed or killed
 * restore leaves the folder as it was. Transfers' append-only triggers are created by the dump after
 * its data, so loading never runs into them.
 */
export async function restorePgliteFolder(input: {
  dataDir: string;
  dump: string;
  force: boolean;
  now: Date;
}): Promise<Result<RestoreReport, RestoreFailure>> {
  if (input.dump.startsWith(customFormatMagic)) return fail('custom_format');
  if (!input.dump.includes(pgDumpMarker) || !input.dump.includes(allotMarker)) return fail('not_a_backup');
  const root = await ensureDataDir(input.dataDir);
  let release: () => Promise<void>;
  try {
    release = await acquireDataDirLock(root);
  } catch (error) {
    if (error instanceof DataDirLockedError) return fail('data_dir_in_use', { pid: error.pid });
    throw error;
  }
  const scratch = scratchPath(root);
  try {
    await clearLeftovers(root);
    const pgdataPath = path.join(root, pgdataName);
    let existing = 0;
    if (await hasPgdata(root)) {
      const current = await PGlite.create(pgdataPath, pgliteOptions);
      try {
        existing = await countOrganisations(current);
      } finally {
        await current.close();
      }
      if (existing > 0 && !input.force) return fail('database_not_empty', { organisations: existing });
    }
    const fresh = await PGlite.create(scratch, pgliteOptions);
    let report: Omit<RestoreReport, 'replacedKeptAt' | 'dataDir'>;
    try {
      await fresh.exec(input.dump);
      // The dump empties search_path for its own session; migrations expect the default.
      await fresh.exec('RESET ALL');
      await migrate(drizzle({ client: fresh }), { migrationsFolder });
      const { rows } = await fresh.query<{ transfers: string }>('select count(*)::text as transfers from transfers');
      report = { organisations: await countOrganisations(fresh), transfers: Number(rows[0]?.transfers ?? 0) };
    } finally {
      await fresh.close();
    }
    let replacedKeptAt: string | null = null;
    if (existing > 0) {
      replacedKeptAt = path.join(root, `${pgdataName}.replaced-${input.now.toISOString().replace(/[:.]/g, '-')}`);
      await rename(pgdataPath, replacedKeptAt);
    } else {
      await rm(pgdataPath, { recursive: true, force: true });
    }
    await rename(scratch, pgdataPath);
    return ok({ ...report, dataDir: root, replacedKeptAt });
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await release();
  }
}

export interface PgToolCommand {
  command: 'pg_dump' | 'pg_restore';
  args: string[];
  /** PGPASSWORD, when the URL has one: kept out of argv, where other users could read it. */
  env: Record<string, string>;
  /** The command as the operator would type it, without the password. */
  display: string;
}

function withoutPassword(url: string): { url: string; password: string | undefined } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url, password: undefined }; // Not WHATWG-parsable: handed over as written.
  }
  const password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  parsed.password = '';
  return { url: parsed.toString(), password };
}

const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/**
 * PostgreSQL's own backup: `pg_dump -Fc` (a compressed custom-format archive that pg_restore reads;
 * consistent while Allot runs, as pg_dump works from one snapshot).
 */
export function pgDumpCommand(databaseUrl: string, file: string): PgToolCommand {
  const { url, password } = withoutPassword(databaseUrl);
  return {
    command: 'pg_dump',
    args: ['--format=custom', `--file=${file}`, `--dbname=${url}`],
    env: password ? { PGPASSWORD: password } : {},
    display: `pg_dump -Fc -f ${quote(file)} ${quote(url)}`,
  };
}

/**
 * PostgreSQL's own restore into DATABASE_URL, in one transaction, dropping what the archive recreates
 * first (`--clean --if-exists`, for a database the server already migrated), stopping at the first
 * error. Owners and grants are left out, so any role that owns the target database can restore.
 */
export function pgRestoreCommand(databaseUrl: string, file: string): PgToolCommand {
  const { url, password } = withoutPassword(databaseUrl);
  return {
    command: 'pg_restore',
    args: [
      '--clean',
      '--if-exists',
      '--no-owner',
      '--no-privileges',
      '--single-transaction',
      '--exit-on-error',
      `--dbname=${url}`,
      file,
    ],
    env: password ? { PGPASSWORD: password } : {},
    display: `pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error -d ${quote(url)} ${quote(file)}`,
  };
}
