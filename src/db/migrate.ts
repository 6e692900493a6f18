import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { type Database, queryRows } from './client';

export const migrationsFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

const migrationLockId = 7131968;

/**
 * Applies pending migrations. On Postgres, replicas starting together take turns behind a session
 * advisory lock held on a dedicated single connection, so each migration runs once.
 */
export async function applyMigrations(db: Database, databaseUrl?: string): Promise<void> {
  if (db.kind === 'pglite') {
    const { migrate } = await import('drizzle-orm/pglite/migrator');
    // biome-ignore lint/suspicious/noExplicitAny: the migrator wants the driver-specific drizzle type.
    await migrate(db.orm as any, { migrationsFolder });
    return;
  }
  if (!databaseUrl) throw new Error('applyMigrations on Postgres needs the database URL');
  const { default: postgres } = await import('postgres');
  const { drizzle } = await import('drizzle-orm/postgres-js');
  const { migrate } = await import('drizzle-orm/postgres-js/migrator');
  const client = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await client`select pg_advisory_lock(${migrationLockId})`;
    await migrate(drizzle({ client }), { migrationsFolder });
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
