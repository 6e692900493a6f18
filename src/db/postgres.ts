import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { type Database, type DatabaseLocation, type Orm, pingOrm } from './database';

/** Host, port, database and user of a postgres:// URL, for people to read (the password is left out). */
export function locationOfUrl(url: string): Extract<DatabaseLocation, { kind: 'postgres' }> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // postgres.js reads some URLs WHATWG's parser refuses; say what is safe to say.
    return { kind: 'postgres', host: 'unknown', port: 5432, database: 'unknown', user: 'unknown' };
  }
  return {
    kind: 'postgres',
    host: decodeURIComponent(parsed.hostname) || parsed.searchParams.get('host') || 'localhost',
    port: Number(parsed.port || 5432),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || decodeURIComponent(parsed.username),
    user: decodeURIComponent(parsed.username) || 'postgres',
  };
}

export function createPostgresDatabase(url: string, poolMax: number): Database {
  // postgres.js hands int8 over as a string (its default, kept): repositories turn it into bigint,
  // never into a float.
  const client = postgres(url, {
    max: poolMax,
    onnotice: () => {},
    connection: { application_name: 'allot' },
  });
  const orm = drizzle({ client, casing: 'snake_case' }) as unknown as Orm;
  return {
    kind: 'postgres',
    orm,
    location: locationOfUrl(url),
    ping: () => pingOrm(orm),
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}

/**
 * The running server's PGlite, reached through its socket in DATA_DIR (see pglite-socket.ts). One
 * connection, as PGlite has one session; no named prepared statements, which would outlive this
 * client in the server's session; no SET: the session is shared.
 */
export function createPgliteSocketDatabase(input: {
  dataDir: string;
  socketPath: string;
  serverPid: number;
}): Database {
  const client = postgres({
    path: input.socketPath,
    username: 'postgres',
    database: 'postgres',
    max: 1,
    prepare: false,
    onnotice: () => {},
    connect_timeout: 10,
  });
  const orm = drizzle({ client, casing: 'snake_case' }) as unknown as Orm;
  return {
    kind: 'postgres',
    orm,
    location: { kind: 'pglite-socket', ...input },
    ping: () => pingOrm(orm),
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}
