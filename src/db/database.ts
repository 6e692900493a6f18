// What a process holds once it opened a database: the types every layer names, and the helpers that
// run a raw query on either driver. The drivers (pglite.ts, postgres.ts) build these; client.ts picks one.
import type { PGlite } from '@electric-sql/pglite';
import { type SQL, sql } from 'drizzle-orm';
import { type PgDatabase, PgDialect, type PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type { SessionGate } from './session-gate';

/**
 * A drizzle handle: the database itself or a transaction; both run the same queries. Allot uses the
 * query builder and `sql` only, never drizzle's relational queries, so the handle carries no schema
 * (the table index drizzle-kit reads is src/db/schema.ts).
 */
export type Orm = PgDatabase<PgQueryResultHKT, Record<string, never>>;

/**
 * Which database a process opened, as `allot status` and `--verbose` say it: a PGlite folder (opened
 * directly, or through the running server's socket), PGlite in memory, or a PostgreSQL server (never
 * with its password).
 */
export type DatabaseLocation =
  | { kind: 'pglite-memory' }
  | { kind: 'pglite-folder'; dataDir: string; created: boolean }
  | { kind: 'pglite-socket'; dataDir: string; socketPath: string; serverPid: number }
  | { kind: 'postgres'; host: string; port: number; database: string; user: string };

/** PGlite's one session inside this process, and the gate every user of it takes. */
export interface EmbeddedPglite {
  client: PGlite;
  gate: SessionGate;
  /**
   * Serves the session to other processes on `<DATA_DIR>/.s.PGSQL.5432` (owner-only) until `close`;
   * returns the socket's path. Folder-backed PGlite only.
   */
  serveSocket(options?: { onProblem?: (problem: string) => void; idleInTransactionMs?: number }): Promise<string>;
}

export interface Database {
  /** The driver: PGlite in this process, or postgres.js (to PostgreSQL, or to a server's PGlite socket). */
  readonly kind: 'pglite' | 'postgres';
  readonly orm: Orm;
  readonly location: DatabaseLocation;
  /** Present when PGlite runs in this process (for backups and the local socket). */
  readonly embedded?: EmbeddedPglite;
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

/** One line naming the database, for people: never a password. */
export function describeLocation(location: DatabaseLocation): string {
  switch (location.kind) {
    case 'pglite-memory':
      return 'PGlite in memory';
    case 'pglite-folder':
      return `PGlite at ${location.dataDir} (opened directly${location.created ? ', created now' : ''})`;
    case 'pglite-socket':
      return `PGlite at ${location.dataDir}, through the running server's socket ${location.socketPath} (server pid ${location.serverPid})`;
    case 'postgres':
      return `PostgreSQL ${location.user}@${location.host}:${location.port}/${location.database}`;
  }
}

/** Rows of a raw `execute`, which postgres.js returns as an array and PGlite as `{ rows }`. */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

export async function queryRows<T>(orm: Orm, query: SQL): Promise<T[]> {
  return rowsOf<T>(await orm.execute(query));
}

const dialect = new PgDialect();

/**
 * Rows of `query` run as a prepared statement, for the hot statements whose text never changes (only
 * their parameters do). On PostgreSQL, postgres.js runs an unprepared statement with parameters in two
 * round trips (Parse + Describe, then Bind + Execute once it has the parameter types); a prepared one
 * takes one round trip from its second use on each connection, and the server keeps its parse. Never
 * for text built from data (each distinct text stays prepared on its connection for the connection's
 * life). On PGlite, and through a PGlite socket (which prepares nothing), it is `queryRows`.
 */
export async function queryRowsPrepared<T>(orm: Orm, query: SQL): Promise<T[]> {
  const built = dialect.sqlToQuery(query);
  return rowsOf<T>(await orm._.session.prepareQuery(built, undefined, 'hot', false).execute());
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
