import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import type { Database, Orm } from './client';
import * as schema from './schema';

export function createPostgresDatabase(url: string, poolMax: number): Database {
  const client = postgres(url, {
    max: poolMax,
    onnotice: () => {},
    // int8 arrives as a string; repositories turn it into bigint, never into a float.
    connection: { application_name: 'allot' },
  });
  const orm = drizzle({ client, schema, casing: 'snake_case' }) as unknown as Orm;
  return {
    kind: 'postgres',
    orm,
    async ping() {
      try {
        await orm.execute(sql`select 1`);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}
