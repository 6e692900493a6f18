import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database, queryRows } from '../../src/db/client';
import { applyMigrations } from '../../src/db/migrate';
import { grantTokens } from '../../src/ledger/ledger.usecases';
import { reverseTransfer } from '../../src/ledger/reversal.usecases';
import { operatorActor } from '../../src/lib/context';
import {
  freePort,
  killAll,
  runCli,
  type Spawned,
  spawnServer,
  tempDir,
  waitForHealthy,
  withTimeout,
} from '../start/spawn';
import { createTestCtx, createTestDatabase, onPostgres, type TestDatabase } from '../support/db';
import { makeTeam, uniqueKey } from '../support/fixtures';
import { testDatabaseName, withDatabase } from '../support/global-setup';

// `allot backup` and `allot restore`, run as the operator runs them. A backup restored elsewhere must
// give the same ledger: every account's balance, every transfer, and the append-only guard on transfers.

type AccountRow = { id: string; org_id: string; kind: string; member_id: string | null; balance: string };

async function accountsOf(db: Database): Promise<AccountRow[]> {
  return queryRows<AccountRow>(
    db.orm,
    sql`select id::text, org_id::text, kind, member_id::text, balance::text from accounts order by org_id, id`,
  );
}

async function transferIdsOf(db: Database): Promise<string[]> {
  const rows = await queryRows<{ id: string }>(db.orm, sql`select id::text from transfers order by org_id, id`);
  return rows.map((row) => row.id);
}

/** A team with a budget, grants and a reversal: every kind of account holds something. */
async function fillLedger(db: Database): Promise<{ slug: string; anaId: bigint }> {
  const ctx = createTestCtx(db);
  const { org, manager, ana, ben } = await makeTeam(ctx, 200_000n);
  for (const amount of [10_000n, 25_000n]) {
    const granted = await grantTokens(ctx, {
      orgId: org.id,
      actor: { kind: 'member', memberId: manager.id, platform: 'slack' },
      recipientIds: [ana.id, ben.id],
      amount,
      idempotencyKey: uniqueKey(),
    });
    if (!granted.ok) throw new Error(granted.failure);
    if (amount === 25_000n) {
      const reversed = await reverseTransfer(ctx, {
        orgId: org.id,
        actor: operatorActor,
        transferId: granted.value.transferIds[0]!,
        idempotencyKey: uniqueKey(),
      });
      if (!reversed.ok) throw new Error(reversed.failure);
    }
  }
  return { slug: org.slug, anaId: ana.id };
}

function expectNoPartial(folder: string): void {
  expect(readdirSync(folder).filter((entry) => entry.includes('.partial-'))).toEqual([]);
}

/** A backup is readable by its owner only, and nothing half-written is left beside it. */
function expectOwnerOnlyAndWhole(file: string): void {
  expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
  expectNoPartial(path.dirname(file));
}

async function expectTransfersAppendOnly(db: Database): Promise<void> {
  await expect(db.orm.execute(sql`update transfers set amount = amount + 1`)).rejects.toThrow();
  await expect(db.orm.execute(sql`delete from transfers`)).rejects.toThrow();
}

describe.skipIf(onPostgres)('backups on PGlite', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let dataDir: string;
  let server: Spawned;
  let slug: string;
  let anaId: bigint;

  beforeAll(async () => {
    dir = await tempDir('allot-backup-');
    dataDir = path.join(dir.path, 'data');
    const db = await createDatabase({ dataDir });
    try {
      await applyMigrations(db);
      ({ slug, anaId } = await fillLedger(db));
    } finally {
      await db.close();
    }
    const port = await freePort();
    server = spawnServer({ DATA_DIR: dataDir, PORT: String(port) });
    await waitForHealthy(server, port, 120_000);
  }, 180_000);
  afterAll(async () => {
    killAll();
    await dir.remove();
  });

  it('a backup taken while the server runs restores into a fresh folder where the audit finds the same balances', async () => {
    const env = { DATA_DIR: dataDir };
    const file = path.join(dir.path, 'quiet.sql');
    // Writes arrive while one backup is taken; a second is taken when they are done.
    const [during, ...grants] = await Promise.all([
      runCli(['backup', path.join(dir.path, 'during.sql')], env),
      ...[1, 2, 3].map((i) => runCli(['grant', slug, '1k', anaId.toString(), '--memo', `during backup ${i}`], env)),
    ]);
    expect(during.code, during.stderr).toBe(0);
    expect(during.stdout).toMatch(
      /through the running server's socket .* to .*during\.sql: 1 organisation, \d+ transfers, \d+ KB\./,
    );
    for (const grant of grants) expect(grant.code, grant.stderr).toBe(0);
    const quiet = await runCli(['backup', file], env);
    expect(quiet.code, quiet.stderr).toBe(0);
    expectOwnerOnlyAndWhole(file);
    expect((await runCli(['backup', file], env)).stderr.trim()).toBe(
      `${file} already exists. Choose another file, or add --force to replace it.`,
    );

    // Restoring over the running server's folder is refused: stop it first.
    const over = await runCli(['restore', file], env);
    expect(over.code).toBe(3);
    expect(over.stderr.trim()).toMatch(/^DATA_DIR .* is in use by pid \d+ \(a running server\?\)\. A restore replaces/);

    server.child.kill('SIGTERM');
    expect((await withTimeout(server.exited, 30_000, 'the server to stop')).code).toBe(0);

    const restoredDir = path.join(dir.path, 'restored');
    const restored = await runCli(['restore', file], { DATA_DIR: restoredDir });
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(
      /^Restored .*quiet\.sql into PGlite at .*restored: 1 organisation\(s\), \d+ transfers\./,
    );
    const audit = await runCli(['audit'], { DATA_DIR: restoredDir });
    expect(audit.code, audit.stdout).toBe(0);
    expect(audit.stdout).toMatch(/^Ledger audit of all organisations: OK/);

    const original = await createDatabase({ dataDir });
    const copy = await createDatabase({ dataDir: restoredDir });
    try {
      const accounts = await accountsOf(original);
      expect(accounts.filter((account) => account.balance !== '0').length).toBeGreaterThan(3);
      expect(await accountsOf(copy)).toEqual(accounts);
      expect(await transferIdsOf(copy)).toEqual(await transferIdsOf(original));
      await expectTransfersAppendOnly(copy);
    } finally {
      await original.close();
      await copy.close();
    }

    // The backup taken under writes is one consistent snapshot: its ledger audits clean, and it holds
    // a prefix of what the server wrote (each grant whole, or not at all).
    const snapshotDir = path.join(dir.path, 'snapshot');
    expect((await runCli(['restore', path.join(dir.path, 'during.sql')], { DATA_DIR: snapshotDir })).code).toBe(0);
    expect((await runCli(['audit'], { DATA_DIR: snapshotDir })).code).toBe(0);
    const snapshot = await createDatabase({ dataDir: snapshotDir });
    const full = await createDatabase({ dataDir });
    try {
      const all = await transferIdsOf(full);
      const taken = await transferIdsOf(snapshot);
      expect(all.slice(0, taken.length)).toEqual(taken);
    } finally {
      await snapshot.close();
      await full.close();
    }
  }, 900_000);

  it('restore refuses a folder that holds data unless --force, which keeps the old database beside it', async () => {
    const file = path.join(dir.path, 'quiet.sql');
    const restoredDir = path.join(dir.path, 'restored');
    const refused = await runCli(['restore', file], { DATA_DIR: restoredDir });
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(
      `DATA_DIR ${restoredDir} already holds a database with 1 organisation(s); restore refuses to replace it. ` +
        `Restore into an empty folder (DATA_DIR=./data/restored allot restore ${file}), or add --force to replace it ` +
        '(the current database is kept beside it as pgdata.replaced-<time>).',
    );
    const forced = await runCli(['restore', file, '--force'], { DATA_DIR: restoredDir });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/The database that was there is kept at .*pgdata\.replaced-/);
    expect(
      readdirSync(restoredDir)
        .filter((entry) => entry.startsWith('pgdata'))
        .sort(),
    ).toEqual(['pgdata', expect.stringMatching(/^pgdata\.replaced-\d{4}-/)]);

    const notABackup = path.join(dir.path, 'notes.sql');
    await writeFile(notABackup, 'select 1;\n');
    const wrong = await runCli(['restore', notABackup], { DATA_DIR: path.join(dir.path, 'elsewhere') });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.trim()).toBe(`${notABackup} is not an Allot backup; allot backup <file> writes one.`);
  }, 600_000);
});

describe.runIf(onPostgres)('backups on PostgreSQL', () => {
  let source: TestDatabase;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const serverUrl = process.env.DATABASE_URL!;
  const targetName = testDatabaseName('db');
  const targetUrl = onPostgres ? withDatabase(serverUrl, targetName) : '';

  beforeAll(async () => {
    dir = await tempDir('allot-backup-');
    source = await createTestDatabase({ poolMax: 2 });
    await fillLedger(source.db);
    const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`create database "${targetName}"`);
    } finally {
      await admin.end();
    }
  });
  afterAll(async () => {
    await source?.close();
    const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`drop database if exists "${targetName}" with (force)`);
    } finally {
      await admin.end();
    }
    await dir.remove();
  });

  it('pg_dump -Fc and pg_restore into an empty database give the same balances, and the audit is clean', async () => {
    const file = path.join(dir.path, 'allot.dump');
    const backup = await runCli(['backup', file], { DATABASE_URL: source.url });
    expect(backup.code, backup.stderr).toBe(0);
    // pg_dump writes beside the file, into one made 0600 first, renamed into place once it exits 0.
    expect(backup.stderr).toMatch(
      /^Running: pg_dump -Fc -f '.*allot\.dump\.partial-\d+' 'postgres:\/\/postgres@127\.0\.0\.1:5432\/allot_test_\w+'$/m,
    );
    expect((await readFile(file)).subarray(0, 5).toString()).toBe('PGDMP');
    expectOwnerOnlyAndWhole(file);

    const restore = await runCli(['restore', file], { DATABASE_URL: targetUrl });
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stderr).toMatch(
      /^Running: pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error -d /m,
    );
    const audit = await runCli(['audit'], { DATABASE_URL: targetUrl });
    expect(audit.code, audit.stdout).toBe(0);
    expect(audit.stdout).toMatch(/^Ledger audit of all organisations: OK/);

    const target = await createDatabase({ databaseUrl: targetUrl, poolMax: 1 });
    try {
      const accounts = await accountsOf(source.db);
      expect(accounts.filter((account) => account.balance !== '0').length).toBeGreaterThan(3);
      expect(await accountsOf(target)).toEqual(accounts);
      expect(await transferIdsOf(target)).toEqual(await transferIdsOf(source.db));
      await expectTransfersAppendOnly(target);
    } finally {
      await target.close();
    }

    // The target now holds organisations: restoring over it again is refused.
    const again = await runCli(['restore', file], { DATABASE_URL: targetUrl });
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toMatch(
      /holds 1 organisation\(s\); restore refuses to replace them\. Restore into a new, empty database/,
    );
  }, 600_000);

  it('a pg_dump that fails leaves neither the file nor a partial one, keeps a file --force would replace, and says so', async () => {
    const missing = withDatabase(serverUrl, testDatabaseName('db')); // Never created.
    const file = path.join(dir.path, 'never.dump');
    const failed = await runCli(['backup', file], { DATABASE_URL: missing });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^pg_dump: error: .*does not exist$/m);
    expect(failed.stderr.trim().split('\n').at(-1)).toBe(
      `pg_dump failed (exit 1); see its message above. No backup was written to ${file}.`,
    );
    expect(existsSync(file)).toBe(false);
    expectNoPartial(dir.path);

    const kept = path.join(dir.path, 'kept.dump');
    await writeFile(kept, 'an older backup');
    const forced = await runCli(['backup', kept, '--force'], { DATABASE_URL: missing });
    expect(forced.code).toBe(1);
    expect(forced.stderr).toContain(`No backup was written to ${kept}.`);
    expect(await readFile(kept, 'utf8')).toBe('an older backup');
    expectNoPartial(dir.path);
  }, 120_000);
});
