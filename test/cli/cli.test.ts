import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportColumns } from '../../src/cli/ledger.commands';
import { createDatabase } from '../../src/db/client';
import { runCli, tempDir } from '../start/spawn';
import { createTestDatabase, onPostgres, type TestDatabase } from '../support/db';

// The operator CLI, run as `npx allot …` runs it: a real process per command, on a temporary PGlite
// folder (or, with DATABASE_URL, a fresh Postgres database), calling the same verbs chat calls.

let dir: Awaited<ReturnType<typeof tempDir>>;
let postgresDatabase: TestDatabase | undefined;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  dir = await tempDir('allot-cli-');
  if (onPostgres) {
    postgresDatabase = await createTestDatabase({ poolMax: 1 });
    env = { DATABASE_URL: postgresDatabase.url };
  } else {
    env = { DATA_DIR: path.join(dir.path, 'data') };
  }
});
afterAll(async () => {
  await postgresDatabase?.close();
  await dir.remove();
});

async function allot(...args: string[]) {
  return runCli(args, env);
}

/** Runs a command that must succeed and returns what it printed. */
async function allotOk(...args: string[]): Promise<string> {
  const result = await allot(...args);
  if (result.code !== 0) throw new Error(`allot ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** Runs a command that must fail with exactly one friendly line and nothing on stdout. */
async function allotRefused(expectedCode: number, ...args: string[]): Promise<string> {
  const result = await allot(...args);
  expect(result.code, `allot ${args.join(' ')}: ${result.stderr}`).toBe(expectedCode);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  return lines[0]!;
}

/** Changes a wallet's stored balance behind the ledger's back, as a bug or a bad hand-written fix would. */
async function corruptOneWallet(): Promise<void> {
  const db = await createDatabase(
    onPostgres ? { databaseUrl: postgresDatabase!.url, poolMax: 1 } : { dataDir: path.join(dir.path, 'data') },
  );
  try {
    await db.orm.execute(sql`update accounts set balance = balance + 1 where id = (
      select min(id) from accounts where kind = 'wallet')`);
  } finally {
    await db.close();
  }
}

describe('the allot CLI', () => {
  // The tests share one database and run in order; the first ends by corrupting a balance on purpose.
  it('an operator sets up an organisation, funds a manager, grants, reverses, exports and audits', async () => {
    expect(await allotOk('org', 'create', 'acme', '--name', 'Acme Corp', '--time-zone', 'Europe/Paris')).toMatch(
      /^Created organisation acme \("Acme Corp", Europe\/Paris\)/,
    );
    expect(await allotRefused(1, 'org', 'create', 'acme')).toBe(
      'That slug is taken; choose another. See: allot org list',
    );

    await allotOk('member', 'add', 'acme', 'Mia Manager', '--email', 'mia@acme.test', '--role', 'manager');
    await allotOk('member', 'add', 'acme', 'Ana Lima', '--email', 'ana@acme.test', '--manager', 'mia@acme.test');
    const ben = await allotOk('member', 'add', 'acme', 'Ben', '--email', 'ben@acme.test');
    const benId = /#(\d+)/.exec(ben)![1]!;

    expect(await allotOk('budget', 'acme', 'mia@acme.test', '500k', 'Q1', 'budget', '--key', 'q1')).toMatch(
      /^Issued 500,000 tokens to the budget of Mia Manager <mia@acme.test> #\d+; it now holds 500,000\./,
    );
    // The same --key again is the same operation: answered, not posted twice.
    expect(await allotOk('budget', 'acme', 'mia@acme.test', '500k', 'Q1', 'budget', '--key', 'q1')).toMatch(
      /^Already issued \(same --key\): 500,000 tokens .* it now holds 500,000\./,
    );
    expect(await allotRefused(1, 'budget', 'acme', 'mia@acme.test', '400k', '--key', 'q1')).toMatch(
      /^That --key was already used for a different operation/,
    );
    expect(await allotRefused(1, 'grant', 'acme', '1.5', 'ana@acme.test')).toBe(
      '“1.5” has a fraction; tokens are whole. Type a whole number of tokens, like 50000, 50k, 1.5M or 50,000.',
    );

    const granted = await allotOk('grant', 'acme', '50k', 'ana@acme.test', benId, '--memo', '=HYPERLINK("x") shipped');
    expect(granted).toMatch(
      /^Granted 50,000 tokens each to Ana Lima <ana@acme.test> #\d+, Ben <ben@acme.test> #\d+ \(100,000 in all/,
    );
    const grantId = /Transfers (\d+), (\d+)\./.exec(granted)![1]!;
    expect(await allotOk('balance', 'acme', 'ana@acme.test')).toMatch(/: wallet 50,000, budget 0\n$/);

    const listed = await allotOk('transfers', 'acme', '--member', 'ana@acme.test');
    expect(listed.split('\n')[0]).toMatch(/^ID\s+TIME\s+CODE\s+FROM\s+TO\s+AMOUNT\s+ACTOR\s+MEMO$/);
    expect(listed).toMatch(
      new RegExp(`^${grantId}\\s+\\S+\\s+grant\\s+treasury\\s+wallet ana@acme.test\\s+50,000`, 'm'),
    );
    expect(listed).not.toContain('budget mia@acme.test');

    expect(await allotOk('reverse', 'acme', grantId, 'granted', 'by', 'mistake')).toMatch(
      new RegExp(`^Reversed transfer ${grantId} \\(grant, 50,000 tokens\\) with transfer \\d+\\.`),
    );
    expect(await allotRefused(1, 'reverse', 'acme', grantId)).toBe(
      'That transfer was already reversed; a transfer is reversed at most once.',
    );

    const file = path.join(dir.path, 'acme.csv');
    const exported = await allot('export', 'acme', '--from', '2000-01-01', '--output', file);
    expect(exported.code).toBe(0);
    const rows = parse(await readFile(file, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual([...exportColumns]);
    expect(rows.map((row) => [row.code, row.from, row.to, row.amount])).toEqual([
      ['issue', 'treasury', 'budget mia@acme.test', '500000'],
      ['grant', 'treasury', 'wallet ana@acme.test', '50000'],
      ['grant', 'treasury', 'wallet ben@acme.test', '50000'],
      ['reversal', 'wallet ana@acme.test', 'treasury', '50000'],
    ]);
    expect(rows[0]).toMatchObject({ actor: 'operator (cli)', memo: 'Q1 budget', operation_key: 'cli:q1' });
    // A memo that a spreadsheet would run as a formula is exported as text.
    expect(rows[1]!.memo).toBe('\'=HYPERLINK("x") shipped');
    expect(rows[3]).toMatchObject({ memo: 'granted by mistake', reverses_transfer_id: grantId });
    expect(new Date(rows[0]!.time!).toISOString()).toBe(rows[0]!.time);

    expect(await allotOk('audit', 'acme')).toMatch(/^Ledger audit of acme: OK/);

    // A balance changed behind the ledger's back (a bug, a bad hand-written fix) fails the audit.
    await corruptOneWallet();
    const audit = await allot('audit');
    expect(audit.code).toBe(1);
    expect(audit.stdout).toMatch(
      /^VIOLATION org \d+ account \d+: balance_equals_transfers: stored balance \S+, transfers say \S+$/m,
    );
    expect(audit.stdout).toMatch(/^VIOLATION org \d+: balances_sum_to_zero: balances sum to 1$/m);
    expect(audit.stderr.trim()).toBe('Ledger audit of all organisations: 2 violation(s). Stop writes and investigate.');
  }, 240_000);

  it('an operator sets roles and reporting lines, and bad input gets one line saying what to type', async () => {
    await allotOk('org', 'create', 'globex');
    await allotOk('member', 'add', 'globex', 'Hank', '--email', 'hank@globex.test');
    await allotOk('member', 'add', 'globex', 'Ivy', '--email', 'ivy@globex.test');
    expect(await allotOk('manager', 'globex', 'ivy@globex.test', 'hank@globex.test')).toMatch(
      /^Ivy <ivy@globex.test> #\d+ now reports to Hank <hank@globex.test> #\d+\./,
    );
    expect(await allotRefused(1, 'manager', 'globex', 'hank@globex.test', 'ivy@globex.test')).toMatch(/reporting loop/);
    expect(await allotOk('role', 'globex', 'ivy@globex.test', 'admin')).toMatch(/is now admin\./);
    const members = await allotOk('member', 'list', 'globex');
    expect(members).toMatch(/Hank\s+hank@globex.test\s+manager\s+active/);
    expect(members).toMatch(/Ivy\s+ivy@globex.test\s+admin\s+\d+\s+active/);

    expect(await allotRefused(1, 'role', 'globex', 'ivy@globex.test', 'boss')).toBe(
      '"boss" is not a role. Type one of: admin, manager, member.',
    );
    expect(await allotRefused(1, 'budget', 'globex', 'ivy@globex.test', '-5')).toMatch(/^“-5” is negative/);
    expect(await allotRefused(1, 'grant', 'nowhere', '5k', 'a@b.test')).toBe(
      'No organisation "nowhere". Create it with: allot org create nowhere',
    );
    expect(await allotRefused(1, 'balance', 'globex', 'zed@globex.test')).toBe(
      'No member "zed@globex.test" in globex. Name members by email or id; see: allot member list globex',
    );
    const unknown = await allot('bogus');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'bogus'");
  }, 240_000);
});
