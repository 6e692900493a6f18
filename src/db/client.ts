import { type SQL, sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import * as schema from './schema';

export type Schema = typeof schema;
/** A drizzle handle: the database itself or a transaction; both run the same queries. */
export type Orm = PgDatabase<PgQueryResultHKT, Schema>;

export interface Database {
  readonly kind: 'pglite' | 'postgres';
  readonly orm: Orm;
  /** Answers true when the database answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Postgres URL; absent means PGlite. */
  databaseUrl?: string;
  /** PGlite data folder; absent (with no URL) means in memory, for tests. */
  dataDir?: string;
  /** postgres.js pool size. */
  poolMax?: number;
}

/** Rows of a raw `execute`, which postgres.js returns as an array and PGlite as `{ rows }`. */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

export async function queryRows<T>(orm: Orm, query: SQL): Promise<T[]> {
  return rowsOf<T>(await orm.execute(query));
}

/** True when the database answers a trivial query; what `Database.ping` does on either driver. */
export async function pingOrm(orm: Orm): Promise<boolean> {
  try {
    await orm.execute(sql`select 1`);
    return true;
  } catch {
    return false;
  }
}

export async function createDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    const { createPostgresDatabase } = await import('./postgres');
    return createPostgresDatabase(options.databaseUrl, options.poolMax ?? 10);
  }
  const { createPgliteDatabase } = await import('./pglite');
  return createPgliteDatabase(options.dataDir);
}

export { schema };
