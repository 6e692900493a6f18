import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { type Database, type Orm, pingOrm } from './client';
import * as schema from './schema';

export function createPostgresDatabase(url: string, poolMax: number): Database {
  // postgres.js hands int8 over as a string (its default, kept): repositories turn it into bigint,
  // never into a float.
  const client = postgres(url, {
    max: poolMax,
    onnotice: () => {},
    connection: { application_name: 'allot' },
  });
  const orm = drizzle({ client, schema, casing: 'snake_case' }) as unknown as Orm;
  return {
    kind: 'postgres',
    orm,
    ping: () => pingOrm(orm),
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}
