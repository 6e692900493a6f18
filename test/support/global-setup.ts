import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { createDatabase } from '../../src/db/client';
import { applyMigrations } from '../../src/db/migrate';

/**
 * With DATABASE_URL, the suite runs on that Postgres server: a template database is migrated once
 * per run here, and each test file clones it (CREATE DATABASE … TEMPLATE) so files never see each
 * other's rows. Names carry their creation time, so a run removes only its own databases and
 * leftovers of crashed runs older than two hours, never those of a run going on beside it.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
    /** On PGlite: a migrated in-memory cluster (dumpDataDir, gzip) that test databases are unpacked from. */
    pgliteTemplate: string;
  }
}

export const testDatabasePrefix = 'allot_test_';
const leftoverAgeSecondsMin = 2 * 3_600;

export function testDatabaseName(kind: 'tpl' | 'db'): string {
  return `${testDatabasePrefix}${Math.floor(Date.now() / 1000)}_${kind}_${randomBytes(5).toString('hex')}`;
}

export function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

export default async function setup(project: TestProject) {
  // Tests that spawn `npm start` run the compiled dist/: build it once here, so that no test pays for
  // the build and parallel test files never build at the same moment.
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  execFileSync(process.execPath, [path.join(root, 'scripts/build.js'), '--if-stale'], { cwd: root, stdio: 'inherit' });

  const url = process.env.DATABASE_URL;
  if (!url) {
    project.provide('templateDatabase', '');
    // The PGlite counterpart of the Postgres template database below: migrated once per run.
    const folder = await mkdtemp(path.join(tmpdir(), 'allot-test-pglite-'));
    const file = path.join(folder, 'migrated.tar.gz');
    const db = await createDatabase({});
    try {
      await applyMigrations(db);
      await writeFile(file, Buffer.from(await (await db.embedded!.client.dumpDataDir('gzip')).arrayBuffer()));
    } finally {
      await db.close();
    }
    project.provide('pgliteTemplate', file);
    return async () => rm(folder, { recursive: true, force: true });
  }
  project.provide('pgliteTemplate', '');
  const template = testDatabaseName('tpl');
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const existing = await admin<{ datname: string }[]>`
      select datname from pg_database where datname like ${`${testDatabasePrefix}%`}`;
    const now = Math.floor(Date.now() / 1000);
    for (const { datname } of existing) {
      const created = Number(/^allot_test_(\d+)_/.exec(datname)?.[1] ?? 0);
      if (now - created > leftoverAgeSecondsMin)
        await admin.unsafe(`drop database if exists "${datname}" with (force)`);
    }
    await admin.unsafe(`create database "${template}"`);
  } finally {
    await admin.end();
  }
  const templateUrl = withDatabase(url, template);
  const db = await createDatabase({ databaseUrl: templateUrl, poolMax: 1 });
  await applyMigrations(db, templateUrl);
  await db.close();
  project.provide('templateDatabase', template);

  return async () => {
    const dropper = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await dropper.unsafe(`drop database if exists "${template}" with (force)`);
    } finally {
      await dropper.end();
    }
  };
}
