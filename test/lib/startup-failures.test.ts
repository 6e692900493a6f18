import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeStartupFailure } from '../../src/app/startup-failures';
import { DataDirLockedError } from '../../src/db/data-dir';
import {
  MigrationFailedError,
  migrationOfStatement,
  migrationsFolder,
  PostgresTooOldError,
} from '../../src/db/migrate';

const onPostgres = {
  DATABASE_URL: 'postgres://allot@db.internal:6543/allot',
  DATA_DIR: './data',
  HOST: '0.0.0.0',
  PORT: 3000,
};
const onPglite = { DATABASE_URL: undefined, DATA_DIR: '/srv/allot/data', HOST: '0.0.0.0', PORT: 3000 };
const systemError = (code: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${code} happened`), { code, ...extra });

it('a driver error wrapped by drizzle (as cause) is still recognised, with the host and port from DATABASE_URL', () => {
  const wrapped = new Error('Failed query: CREATE SCHEMA IF NOT EXISTS "drizzle"', {
    cause: systemError('CONNECT_TIMEOUT'),
  });
  expect(describeStartupFailure(wrapped, onPostgres)).toEqual({
    message:
      'Cannot connect to PostgreSQL at db.internal:6543: no answer (connection timed out). ' +
      'Is PostgreSQL running, and can this machine reach that host and port (firewall, DATABASE_URL)?',
    exitCode: 1,
  });
});

it('a refusal from every address of a host name (an AggregateError) is a refused connection', () => {
  const aggregate = Object.assign(new AggregateError([systemError('ECONNREFUSED')], ''), { code: undefined });
  expect(describeStartupFailure(aggregate, onPostgres)?.message).toMatch(
    /^Cannot connect to PostgreSQL at db\.internal:6543: connection refused\./,
  );
});

it('a Unix socket URL is named by its folder, and a database name with spaces is quoted for the shell', () => {
  const failure = describeStartupFailure(systemError('3D000'), {
    ...onPostgres,
    DATABASE_URL: 'postgres:///my%20allot?host=/var/run/postgresql',
  });
  expect(failure?.message).toBe(
    `The database "my allot" does not exist on the PostgreSQL server at /var/run/postgresql. Create it with: createdb 'my allot' (or correct the name in DATABASE_URL).`,
  );
});

it('a port below 1024 without privileges is a setting to change (exit 2), naming PORT', () => {
  const failure = describeStartupFailure(systemError('EACCES', { syscall: 'listen' }), { ...onPglite, PORT: 80 });
  expect(failure).toMatchObject({ exitCode: 2 });
  expect(failure?.message).toMatch(/^Not allowed to listen on port 80 .* PORT=/);
});

it('a HOST name that does not resolve is a setting to change (exit 2), naming HOST; a database host that does not is not', () => {
  const unresolved = systemError('ENOTFOUND', { syscall: 'getaddrinfo', hostname: 'nosuch.invalid' });
  const failure = describeStartupFailure(unresolved, { ...onPglite, HOST: 'nosuch.invalid' });
  expect(failure).toMatchObject({ exitCode: 2 });
  expect(failure?.message).toMatch(/^Cannot listen on HOST=nosuch\.invalid: it is not an address of this machine\./);
  const databaseHost = systemError('ENOTFOUND', { syscall: 'getaddrinfo', hostname: 'db.internal' });
  expect(describeStartupFailure(databaseHost, onPostgres)?.message ?? '').not.toMatch(/HOST=/);
});

it('a PostgreSQL older than 15 is refused before any migration, naming its version and what is needed', () => {
  expect(describeStartupFailure(new PostgresTooOldError('14.11'), onPostgres)).toEqual({
    message:
      'PostgreSQL at db.internal:6543 is version 14.11; Allot needs 15 or later (its schema uses UNIQUE NULLS ' +
      'NOT DISTINCT). Upgrade that server, or point DATABASE_URL at a newer one.',
    exitCode: 1,
  });
});

it('a locked DATA_DIR keeps exit code 3 and its own message', () => {
  const locked = new DataDirLockedError('/srv/allot/data', 4242);
  expect(describeStartupFailure(locked, onPglite)).toEqual({ message: locked.message, exitCode: 3 });
});

it('a migration failure names the migration file and the database error', () => {
  const cause = Object.assign(new Error('relation "members" already exists'), { code: '42P07' });
  const failure = describeStartupFailure(
    new MigrationFailedError('0003_transfers_without_account_fks', cause),
    onPglite,
  );
  expect(failure?.exitCode).toBe(1);
  expect(failure?.message).toMatch(
    /^Migration 0003_transfers_without_account_fks failed: relation "members" already exists \(42P07\)\. /,
  );
});

it('a statement is traced back to the migration file it came from, and drizzle bookkeeping to none', () => {
  const journal = JSON.parse(readFileSync(path.join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as {
    entries: { tag: string }[];
  };
  const last = journal.entries.at(-1)!.tag;
  const statements = readFileSync(path.join(migrationsFolder, `${last}.sql`), 'utf8').split('--> statement-breakpoint');
  // As drizzle runs it: one part of the file between breakpoints, with its surrounding blank lines.
  expect(migrationOfStatement(statements.at(-1)!)).toBe(last);
  expect(migrationOfStatement('CREATE SCHEMA IF NOT EXISTS "drizzle"')).toBeUndefined();
  expect(migrationOfStatement('select 1')).toBeUndefined();
});

it('anything else is a bug: no friendly line, so the stack trace is shown', () => {
  expect(describeStartupFailure(new TypeError('undefined is not a function'), onPglite)).toBeUndefined();
  expect(describeStartupFailure(systemError('ECONNRESET'), onPostgres)).toBeUndefined();
  // A file-system error outside DATA_DIR is not DATA_DIR's fault.
  expect(describeStartupFailure(systemError('EACCES', { path: '/etc/shadow' }), onPglite)).toBeUndefined();
  expect(describeStartupFailure(systemError('EACCES', { path: '/srv/allot/data/pgdata' }), onPglite)?.message).toMatch(
    /^Cannot use DATA_DIR \/srv\/allot\/data: permission denied/,
  );
});
