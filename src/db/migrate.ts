import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { type Database, queryRows } from './database';

/**
 * The committed migrations folder, found by walking up from this module to the first `migrations/` with
 * a drizzle journal: the same folder from src/db (tsx, tests) and from the compiled dist/ (npm start).
 */
export const migrationsFolder = findMigrationsFolder(path.dirname(fileURLToPath(import.meta.url)));

function findMigrationsFolder(start: string): string {
  for (let folder = start; ; folder = path.dirname(folder)) {
    const candidate = path.join(folder, 'migrations');
    if (existsSync(path.join(candidate, 'meta', '_journal.json'))) return candidate;
    if (path.dirname(folder) === folder) throw new Error(`no migrations/meta/_journal.json in ${start} or above`);
  }
}

const migrationLockId = 7131968;

/**
 * The oldest PostgreSQL server Allot runs on (server_version_num): 15, the first with
 * UNIQUE NULLS NOT DISTINCT, which migrations/0000_baseline.sql uses for one account per kind and member.
 */
export const postgresVersionNumMin = 150_000;

/** The server named by DATABASE_URL is older than postgresVersionNumMin; nothing was migrated. */
export class PostgresTooOldError extends Error {
  constructor(readonly serverVersion: string) {
    super(`PostgreSQL ${serverVersion} is older than 15`);
    this.name = 'PostgresTooOldError';
  }
}

/**
 * A migration's statement failed. Drizzle applies every pending migration in one transaction, so none
 * of them is applied: the database is as it was before the start. `migration` is the file's tag
 * (e.g. `0004_usage_batches`); `cause` is the database's error.
 */
export class MigrationFailedError extends Error {
  constructor(
    readonly migration: string,
    override readonly cause: unknown,
  ) {
    super(`migration ${migration} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'MigrationFailedError';
  }
}

/**
 * The tag of the migration holding `statement` (a statement as drizzle ran it: one part of a file
 * between `--> statement-breakpoint` markers), or undefined for drizzle's own bookkeeping queries.
 */
export function migrationOfStatement(statement: string, folder = migrationsFolder): string | undefined {
  const journal = JSON.parse(readFileSync(path.join(folder, 'meta', '_journal.json'), 'utf8')) as {
    entries: { tag: string }[];
  };
  const wanted = statement.trim();
  return journal.entries.find(({ tag }) =>
    readFileSync(path.join(folder, `${tag}.sql`), 'utf8')
      .split('--> statement-breakpoint')
      .some((part) => part.trim() === wanted),
  )?.tag;
}

/** Names the migration when drizzle's error is about one of its statements; other errors pass unchanged. */
function namingTheMigration(error: unknown): unknown {
  const query = (error as { query?: unknown }).query;
  if (typeof query !== 'string') return error;
  const migration = migrationOfStatement(query);
  return migration ? new MigrationFailedError(migration, (error as { cause?: unknown }).cause ?? error) : error;
}

/**
 * Applies pending migrations, all in one transaction. On Postgres, replicas starting together take turns
 * behind a session advisory lock held on a dedicated single connection, so each migration runs once.
 * A failing migration statement throws MigrationFailedError naming the file; a database that cannot be
 * reached throws the driver's error (see src/lib/startup-failures.ts for what each means).
 */
export async function applyMigrations(db: Database, databaseUrl?: string): Promise<void> {
  if (db.kind === 'pglite') {
    const { migrate } = await import('drizzle-orm/pglite/migrator');
    // biome-ignore lint/suspicious/noExplicitAny: the migrator wants the driver-specific drizzle type.
    await migrate(db.orm as any, { migrationsFolder }).catch((error) => {
      throw namingTheMigration(error);
    });
    return;
  }
  if (!databaseUrl) throw new Error('applyMigrations on Postgres needs the database URL');
  const { default: postgres } = await import('postgres');
  const { drizzle } = await import('drizzle-orm/postgres-js');
  const { migrate } = await import('drizzle-orm/postgres-js/migrator');
  const client = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const [server] = await client<{ num: string; version: string }[]>`
      select current_setting('server_version_num') as num, current_setting('server_version') as version`;
    if (Number(server?.num) < postgresVersionNumMin) throw new PostgresTooOldError(server?.version ?? 'unknown');
    await client`select pg_advisory_lock(${migrationLockId})`;
    await migrate(drizzle({ client }), { migrationsFolder }).catch((error) => {
      throw namingTheMigration(error);
    });
    await client`select pg_advisory_unlock(${migrationLockId})`;
  } finally {
    await client.end({ timeout: 5 });
  }
}

/** Bound on the journal: far more migrations than Allot will ever have. */
const journalEntriesMax = 10_000;

export interface MigrationStatus {
  /** Tags of the migrations this database has, oldest first (e.g. 0004_usage_batches). */
  applied: string[];
  /** Tags of this copy of Allot's migrations the database does not have yet; start-up applies them. */
  pending: string[];
}

/**
 * Which of this copy's migrations the database has. Drizzle records each applied migration with its
 * journal time (`created_at`) and applies those newer than the latest recorded, so the same rule
 * decides here. Reads only; a database never migrated has every migration pending.
 */
export async function migrationStatus(db: Database): Promise<MigrationStatus> {
  const journal = JSON.parse(await readFile(path.join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as {
    entries: { tag: string; when: number }[];
  };
  const entries = journal.entries.slice(0, journalEntriesMax);
  const [exists] = await queryRows<{ table: string | null }>(
    db.orm,
    sql`select to_regclass('drizzle.__drizzle_migrations')::text as "table"`,
  );
  let latest = Number.NEGATIVE_INFINITY;
  if (exists?.table) {
    const [row] = await queryRows<{ latest: string | null }>(
      db.orm,
      sql`select max(created_at)::text as latest from drizzle.__drizzle_migrations`,
    );
    if (row?.latest) latest = Number(row.latest);
  }
  return {
    applied: entries.filter((entry) => entry.when <= latest).map((entry) => entry.tag),
    pending: entries.filter((entry) => entry.when > latest).map((entry) => entry.tag),
  };
}
