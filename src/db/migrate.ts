import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from './client';

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
