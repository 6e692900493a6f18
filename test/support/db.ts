import postgres from 'postgres';
import { inject } from 'vitest';
import { createDatabase, type Database } from '../../src/db/client';
import { applyMigrations } from '../../src/db/migrate';
import { createTestClock, type TestClock } from '../../src/lib/clock';
import type { Ctx } from '../../src/lib/context';
import { testDatabaseName, withDatabase } from './global-setup';

export interface TestDatabase {
  db: Database;
  /** The Postgres URL of this database (undefined on PGlite). */
  url: string | undefined;
  close(): Promise<void>;
}

/** True when the suite runs against the Postgres server rather than PGlite. */
export const onPostgres = Boolean(process.env.DATABASE_URL);

/**
 * A fresh, migrated database: PGlite in memory, or with DATABASE_URL a clone of the migrated template
 * on the Postgres server, dropped on close.
 */
export async function createTestDatabase(options: { poolMax?: number } = {}): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const db = await createDatabase({});
    await applyMigrations(db);
    return { db, url: undefined, close: () => db.close() };
  }
  const name = testDatabaseName('db');
  const templateDatabaseName = inject('templateDatabase');
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}" template "${templateDatabaseName}"`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(serverUrl, name);
  const db = await createDatabase({ databaseUrl: url, poolMax: options.poolMax ?? 10 });
  return {
    db,
    url,
    async close() {
      await db.close();
      const dropper = postgres(serverUrl, { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

export function createTestCtx(db: Database, clock: TestClock = createTestClock()): Ctx & { clock: TestClock } {
  return { db, clock };
}
