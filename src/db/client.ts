import type { Database, DatabaseOptions } from './database';

export * from './database';

/** Opens the database the options name: PostgreSQL at `databaseUrl`, else PGlite (a folder, or memory). */
export async function createDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    const { createPostgresDatabase } = await import('./postgres');
    return createPostgresDatabase(options.databaseUrl, options.poolMax ?? 10);
  }
  const { createPgliteDatabase } = await import('./pglite');
  return createPgliteDatabase(options.dataDir);
}
