import postgres from 'postgres';
import { createDatabase } from '../../src/db/client';
import { applyMigrations } from '../../src/db/migrate';

/**
 * With DATABASE_URL, the suite runs on that Postgres server: a template database is migrated once
 * here, and each test file clones it (CREATE DATABASE … TEMPLATE) so files never see each other's rows.
 */
export const templateDatabaseName = 'allot_test_template';

export default async function setup() {
  const url = process.env.DATABASE_URL;
  if (!url) return;
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const leftovers = await admin<{ datname: string }[]>`
      select datname from pg_database where datname like 'allot_test_%'`;
    for (const { datname } of leftovers) await admin.unsafe(`drop database if exists "${datname}" with (force)`);
    await admin.unsafe(`create database "${templateDatabaseName}"`);
  } finally {
    await admin.end();
  }
  const templateUrl = withDatabase(url, templateDatabaseName);
  const db = await createDatabase({ databaseUrl: templateUrl, poolMax: 1 });
  await applyMigrations(db, templateUrl);
  await db.close();
}

export function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}
