import { spawn } from 'node:child_process';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { childProcessEnvironment } from '../../config/config';
import {
  backupHeader,
  customFormatMagic,
  dumpEmbeddedPglite,
  type PgToolCommand,
  pgDumpCommand,
  pgRestoreCommand,
  restorePgliteFolder,
  writeBackupFile,
} from '../../db/backup';
import { describeLocation } from '../../db/client';
import { hasPgdata } from '../../db/data-dir';
import { migrationStatus } from '../../db/migrate';
import { requestBackupThroughSocket } from '../../db/pglite-socket';
import { locationOfUrl } from '../../db/postgres';
import { packageVersion } from '../../lib/project';
import { countOrganisations } from '../../members/members.repository';
import { CliError, cliSettings, findServerSocket, loadCliConfig, withCliContext } from '../cli-context';
import { formatTokens } from '../cli-format';

/** Largest backup `allot restore` reads (a PGlite dump is loaded whole, in one transaction). */
export const restoreFileBytesMax = 1024 * 1024 * 1024;

/** `allot status`, `allot backup <file>` and `allot restore <file>`. */
export function registerDatabaseCommands(program: Command): void {
  program
    .command('status')
    .description('Which database the CLI opens, its migrations and how many organisations it holds')
    .action(status);

  program
    .command('backup')
    .description('Back up the database to <file>: on PGlite a consistent SQL dump, even while the server runs')
    .argument('<file>', 'where to write the backup (it appears only once complete)')
    .option('--force', 'replace <file> if it exists')
    .action(backup);

  program
    .command('restore')
    .description('Restore a backup into the database (PGlite: stop the server first)')
    .argument('<file>', 'a file written by allot backup')
    .option('--force', 'replace a database that holds organisations (PGlite keeps the old one beside it)')
    .action(restore);
}

/** `allot status`: the database the CLI opens, its migrations and organisations; looking never creates one. */
async function status(): Promise<void> {
  const config = loadCliConfig();
  console.log(`Allot ${packageVersion()}`);
  if (!config.DATABASE_URL && !(await findServerSocket(config.DATA_DIR)) && !(await hasPgdata(config.DATA_DIR))) {
    // Looking must not create: say where the database would be instead.
    console.log(
      `Database: PGlite at ${config.DATA_DIR}: none there yet (npm start or any other allot command creates it)`,
    );
    return;
  }
  await withCliContext(
    async (ctx) => {
      const { applied, pending } = await migrationStatus(ctx.db);
      console.log(`Database: ${describeLocation(ctx.db.location)}`);
      const latest = applied.length > 0 ? ` (latest ${applied.at(-1)})` : '';
      console.log(
        pending.length === 0
          ? `Migrations: ${applied.length} applied${latest}, none pending`
          : `Migrations: ${applied.length} applied${latest}, ${pending.length} pending (${pending.join(', ')}): ` +
              'the server applies them when it starts',
      );
      console.log(`Organisations: ${applied.length > 0 ? await countOrganisations(ctx.db.orm) : 0}`);
    },
    { migrate: false, saysWhichDatabase: true },
  );
}

/**
 * `allot backup <file>`: pg_dump on PostgreSQL; on PGlite a SQL dump, through the server's socket when one
 * runs, else from the folder opened here. Either way written whole beside <file>, mode 0600, then renamed
 * into place (writeBackupFile).
 */
async function backup(file: string, options: { force?: boolean }): Promise<void> {
  const config = loadCliConfig();
  const target = path.resolve(file);
  if (!options.force && (await exists(target))) {
    throw new CliError(`${target} already exists. Choose another file, or add --force to replace it.`);
  }
  if (config.DATABASE_URL) {
    const databaseUrl = config.DATABASE_URL;
    try {
      await writeBackupFile(target, (partial) => runPgTool(pgDumpCommand(databaseUrl, partial)));
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      throw new CliError(`${error.message} No backup was written to ${target}.`, error.exitCode);
    }
    const location = describeLocation(locationOfUrl(config.DATABASE_URL));
    console.log(
      `Backed up ${location} to ${target} (${sizeOf((await stat(target)).size)}). ` +
        `Restore it into an empty database with: allot restore ${file}`,
    );
    return;
  }
  const dataDir = config.DATA_DIR;
  let source: string;
  let dump: string;
  const server = await findServerSocket(dataDir);
  if (server) {
    source = describeLocation({ kind: 'pglite-socket', dataDir, ...server });
    if (cliSettings.verbose) console.error(`Database: ${source}`);
    try {
      dump = await requestBackupThroughSocket(server.socketPath);
    } catch (error) {
      throw new CliError(`The server (pid ${server.serverPid}) could not make a backup: ${(error as Error).message}`);
    }
  } else {
    if (!(await hasPgdata(dataDir))) throw new CliError(`There is no database at ${dataDir} to back up.`);
    let made = '';
    let opened = '';
    await withCliContext(async (ctx) => {
      opened = describeLocation(ctx.db.location);
      if (!ctx.db.embedded) throw new Error('a PGlite folder opened without its embedded session');
      made = await dumpEmbeddedPglite(ctx.db.embedded);
    });
    source = opened;
    dump = made;
  }
  const text = backupHeader({ source, takenAt: new Date(), version: packageVersion() }) + dump;
  await writeBackupFile(target, (partial) => writeFile(partial, text));
  const organisations = countRows(dump, 'public.organisations');
  const transfers = countRows(dump, 'public.transfers');
  console.log(
    `Backed up ${source} to ${target}: ${organisations} organisation${organisations === 1 ? '' : 's'}, ` +
      `${formatTokens(BigInt(transfers))} transfers, ${sizeOf(Buffer.byteLength(text))}.`,
  );
}

/** `allot restore <file>`: checks the file, then restores it into PostgreSQL or a PGlite folder. */
async function restore(file: string, options: { force?: boolean }): Promise<void> {
  const config = loadCliConfig();
  const source = path.resolve(file);
  const size = await stat(source).then(
    (stats) => stats.size,
    () => undefined,
  );
  if (size === undefined) throw new CliError(`There is no file ${source}.`);
  if (size > restoreFileBytesMax) {
    throw new CliError(`${source} is larger than ${sizeOf(restoreFileBytesMax)}; restore it with psql or pg_restore.`);
  }
  const custom = (await firstBytes(source, customFormatMagic.length)) === customFormatMagic;
  if (config.DATABASE_URL) {
    await restoreIntoPostgres(config.DATABASE_URL, { source, file, custom, force: options.force });
  } else {
    await restoreIntoPglite(config.DATA_DIR, { source, file, custom, force: options.force });
  }
}

/** What `allot restore` was given: the file as typed and resolved, whether it is pg_dump's custom format. */
interface RestoreSource {
  source: string;
  file: string;
  custom: boolean;
  force?: boolean;
}

/**
 * Restores a pg_dump custom-format archive with pg_restore into the PostgreSQL at DATABASE_URL; a
 * database that holds organisations is replaced only with --force.
 */
async function restoreIntoPostgres(databaseUrl: string, { source, file, custom, force }: RestoreSource): Promise<void> {
  if (!custom) {
    throw new CliError(
      `${source} is not a PostgreSQL custom-format archive (pg_dump -Fc). A PGlite backup is plain SQL: restore ` +
        `it into a PGlite folder (DATABASE_URL unset), or load it into PostgreSQL 18 or later with: ` +
        `psql -1 -v ON_ERROR_STOP=1 -f ${file}`,
    );
  }
  await withCliContext(
    async (ctx) => {
      const { applied } = await migrationStatus(ctx.db);
      const organisations = applied.length > 0 ? await countOrganisations(ctx.db.orm) : 0;
      if (organisations > 0 && !force) {
        throw new CliError(
          `${describeLocation(ctx.db.location)} holds ${organisations} organisation(s); restore refuses to replace ` +
            'them. Restore into a new, empty database (createdb allot_restored, then set DATABASE_URL to it), ' +
            'or add --force to replace this one.',
        );
      }
    },
    { migrate: false },
  );
  await runPgTool(pgRestoreCommand(databaseUrl, source));
  console.log(
    `Restored ${source} into ${describeLocation(locationOfUrl(databaseUrl))}. The server applies ` +
      'newer migrations when it starts. Check the ledger with: allot audit',
  );
}

/** Restores a plain SQL backup into a new PGlite folder at DATA_DIR (the old one kept beside it with --force). */
async function restoreIntoPglite(dataDir: string, { source, file, custom, force }: RestoreSource): Promise<void> {
  if (custom) {
    throw new CliError(
      `${source} is a PostgreSQL custom-format archive (pg_dump -Fc): restore it into PostgreSQL, with DATABASE_URL set.`,
    );
  }
  const restored = await restorePgliteFolder({
    dataDir,
    dump: await readFile(source, 'utf8'),
    force: force ?? false,
    now: new Date(),
  });
  if (!restored.ok) {
    switch (restored.failure) {
      case 'not_a_backup':
        throw new CliError(`${source} is not an Allot backup; allot backup <file> writes one.`);
      case 'custom_format':
        throw new CliError(`${source} is a PostgreSQL custom-format archive: restore it with DATABASE_URL set.`);
      case 'data_dir_in_use':
        throw new CliError(
          `DATA_DIR ${dataDir} is in use by pid ${restored.detail?.pid} (a running server?). A restore ` +
            'replaces the whole database: stop the server, restore, then start it again.',
          3,
        );
      case 'database_not_empty':
        throw new CliError(
          `DATA_DIR ${dataDir} already holds a database with ${restored.detail?.organisations} ` +
            'organisation(s); restore refuses to replace it. Restore into an empty folder ' +
            `(DATA_DIR=./data/restored allot restore ${file}), or add --force to replace it ` +
            '(the current database is kept beside it as pgdata.replaced-<time>).',
        );
    }
  }
  const report = restored.value;
  console.log(
    `Restored ${source} into PGlite at ${report.dataDir}: ${report.organisations} organisation(s), ` +
      `${formatTokens(BigInt(report.transfers))} transfers.` +
      (report.replacedKeptAt ? ` The database that was there is kept at ${report.replacedKeptAt}.` : '') +
      ' Check the ledger with: allot audit',
  );
}

/** Runs pg_dump or pg_restore, its own messages going to the terminal; a failure ends the command. */
async function runPgTool(command: PgToolCommand): Promise<void> {
  console.error(`Running: ${command.display}`);
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(command.command, command.args, {
      env: childProcessEnvironment(command.env),
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', resolve);
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') {
      throw new CliError(
        `${command.command} is not installed here. Install the PostgreSQL client tools (the server's major ` +
          `version or newer), or run on a machine that has them: ${command.display}`,
      );
    }
    throw error;
  });
  if (code !== 0) throw new CliError(`${command.command} failed (exit ${code}); see its message above.`);
}

async function exists(target: string): Promise<boolean> {
  return stat(target).then(
    () => true,
    () => false,
  );
}

async function firstBytes(file: string, count: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(count);
    const { bytesRead } = await handle.read(buffer, 0, count, 0);
    return buffer.subarray(0, bytesRead).toString('latin1');
  } finally {
    await handle.close();
  }
}

/** Rows of a table in a pg_dump --inserts dump: one INSERT line each (with OVERRIDING SYSTEM VALUE or not). */
function countRows(dump: string, table: string): number {
  const prefix = `\nINSERT INTO ${table} `;
  let count = 0;
  for (let at = dump.indexOf(prefix); at !== -1; at = dump.indexOf(prefix, at + prefix.length)) count++;
  return count;
}

function sizeOf(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.max(1, Math.round(bytes / 1024))} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
