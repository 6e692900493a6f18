import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
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
    // Unpacked from the run's migrated template (global-setup.ts), as Postgres clones its template:
    // applying every migration again costs each test file seconds. applyMigrations then finds none pending.
    const templateFile = inject('pgliteTemplate');
    const template = templateFile ? new Blob([await readFile(templateFile)]) : undefined;
    const { createPgliteDatabase } = await import('../../src/db/pglite');
    const db = await createPgliteDatabase(undefined, { template });
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

/**
 * Where an Allot started by a test keeps its data, as its environment says it: DATABASE_URL of a
 * fresh clone of the migrated template on the Postgres server, or DATA_DIR, a new PGlite folder.
 * `remove` drops the database or deletes the folder (after Allot has stopped).
 */
export async function freshAllotDatabase(
  options: { poolMax?: number; prefix?: string } = {},
): Promise<{ env: { DATABASE_URL: string } | { DATA_DIR: string }; remove(): Promise<void> }> {
  if (process.env.DATABASE_URL) {
    const tdb = await createTestDatabase({ poolMax: options.poolMax ?? 1 });
    return { env: { DATABASE_URL: tdb.url! }, remove: () => tdb.close() };
  }
  const folder = await mkdtemp(path.join(tmpdir(), options.prefix ?? 'allot-e2e-'));
  return {
    env: { DATA_DIR: path.join(folder, 'data') },
    remove: () => rm(folder, { recursive: true, force: true }),
  };
}
