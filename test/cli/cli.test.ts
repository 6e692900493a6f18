import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/db/client';
import { exportColumns } from '../../src/ledger/transfer-listing.usecases';
import { repoRoot, runCli, tempDir } from '../start/spawn';
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
    // The wallet's lots (none remain after the reversal) no longer add up to its balance either.
    expect(audit.stdout).toMatch(
      /^VIOLATION org \d+ account \d+: lots_sum_to_balance: balance 1, the remains of its lots add up to 0$/m,
    );
    expect(audit.stderr.trim()).toBe('Ledger audit of all organisations: 3 violation(s). Stop writes and investigate.');
  }, 240_000);

  it('an operator sets roles and reporting lines, and bad input gets one line saying what to type', async () => {
    await allotOk('org', 'create', 'globex');
    await allotOk('member', 'add', 'globex', 'Hank', '--email', 'hank@globex.test');
    await allotOk('member', 'add', 'globex', 'Ivy', '--email', 'ivy@globex.test');
    expect(await allotOk('manager', 'globex', 'ivy@globex.test', 'hank@globex.test')).toMatch(
      /^Ivy <ivy@globex.test> #\d+ now reports to Hank <hank@globex.test> #\d+\./,
    );
    expect(await allotRefused(1, 'manager', 'globex', 'hank@globex.test', 'ivy@globex.test')).toMatch(/reporting loop/);
    expect(await allotOk('role', 'globex', 'ivy@globex.test', 'admin')).toMatch(/is now an admin\./);
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

  it('an operator deactivates, reactivates, renames and re-emails a member; history stays and bad input changes nothing', async () => {
    await allotOk('org', 'create', 'initech');
    await allotOk('member', 'add', 'initech', 'Peter', '--email', 'peter@initech.test');
    await allotOk('member', 'add', 'initech', 'Milton', '--email', 'milton@initech.test');
    await allotOk('grant', 'initech', '5k', 'milton@initech.test', '--memo', 'stapler');

    expect(await allotOk('member', 'deactivate', 'initech', 'milton@initech.test')).toMatch(
      /^Deactivated Milton <milton@initech.test> #\d+: grants, allowances and top-ups to them are refused, and they are off leaderboards\. Their wallet \(5,000\) and history stay\./,
    );
    expect(await allotOk('member', 'deactivate', 'initech', 'milton@initech.test')).toMatch(
      /was already deactivated\./,
    );
    expect(await allotRefused(1, 'grant', 'initech', '1k', 'milton@initech.test')).toBe(
      'One of the recipients is deactivated and cannot receive tokens.',
    );
    expect(await allotOk('member', 'list', 'initech')).toMatch(/Milton\s+milton@initech.test\s+member\s+deactivated/);
    expect(await allotOk('balance', 'initech', 'milton@initech.test')).toMatch(/wallet 5,000/);
    expect(await allotOk('member', 'reactivate', 'initech', 'milton@initech.test')).toMatch(/^Reactivated Milton/);
    await allotOk('grant', 'initech', '1k', 'milton@initech.test');
    expect(await allotOk('balance', 'initech', 'milton@initech.test')).toMatch(/wallet 6,000/);

    expect(await allotOk('member', 'rename', 'initech', 'milton@initech.test', 'Milton Waddams')).toMatch(
      /^Milton <milton@initech.test> #(\d+) is now Milton Waddams <milton@initech.test> #\1\./,
    );
    expect(await allotRefused(1, 'member', 'rename', 'initech', 'milton@initech.test', '   ')).toBe(
      'A member needs a name, like "Ana Lima".',
    );
    expect(await allotOk('member', 'email', 'initech', 'milton@initech.test', 'Milton.W@Initech.test')).toMatch(
      /^Milton Waddams <milton.w@initech.test> #\d+: email set\./,
    );
    expect(await allotRefused(1, 'member', 'email', 'initech', 'milton.w@initech.test', 'peter@initech.test')).toBe(
      'Another member of this organisation already has that email.',
    );
    expect(await allotRefused(1, 'member', 'email', 'initech', 'milton.w@initech.test', 'milton at initech')).toBe(
      'That email does not look right; type it like ana@example.com.',
    );
    expect(await allotOk('member', 'email', 'initech', 'peter@initech.test', 'none')).toMatch(
      /Peter #\d+: email removed\./,
    );
    const members = await allotOk('member', 'list', 'initech');
    expect(members).toMatch(/Milton Waddams\s+milton.w@initech.test\s+member\s+active/);
    expect(await allotOk('audit', 'initech')).toMatch(/^Ledger audit of initech: OK/);
  }, 600_000);

  it('demoting a manager who holds a budget is refused until --return-budget moves it back to the treasury with the role change', async () => {
    await allotOk('org', 'create', 'hooli');
    await allotOk('member', 'add', 'hooli', 'Gavin', '--email', 'gavin@hooli.test', '--role', 'manager');
    await allotOk(
      'member',
      'add',
      'hooli',
      'Big Head',
      '--email',
      'bighead@hooli.test',
      '--manager',
      'gavin@hooli.test',
    );
    await allotOk('budget', 'hooli', 'gavin@hooli.test', '300k');
    await allotOk('role', 'hooli', 'gavin@hooli.test', 'admin'); // Still able to hold a budget: allowed.

    expect(await allotRefused(1, 'role', 'hooli', 'gavin@hooli.test', 'member')).toBe(
      'That member still holds a budget of 300,000 tokens, which a member cannot spend; nothing was changed. ' +
        'Add --return-budget to move it back to the treasury with the role change, or keep them a manager.',
    );
    expect(await allotOk('member', 'list', 'hooli')).toMatch(/Gavin\s+gavin@hooli.test\s+admin/);

    expect(await allotOk('role', 'hooli', 'gavin@hooli.test', 'member', '--return-budget')).toMatch(
      /^Gavin <gavin@hooli.test> #\d+ is now a member\. Returned 300,000 tokens from their budget to the treasury\./,
    );
    expect(await allotOk('balance', 'hooli', 'gavin@hooli.test')).toMatch(/wallet 0, budget 0/);
    const transfers = await allotOk('transfers', 'hooli');
    expect(transfers).toMatch(
      /issue\s+budget gavin@hooli.test\s+treasury\s+300,000\s+operator \(cli\)\s+budget returned/,
    );
    // A member with an empty budget is demoted like anyone else.
    expect(await allotOk('role', 'hooli', 'bighead@hooli.test', 'manager')).toMatch(/is now a manager\./);
    expect(await allotOk('role', 'hooli', 'bighead@hooli.test', 'member')).toMatch(/is now a member\.$/m);
    expect(await allotOk('audit', 'hooli')).toMatch(/^Ledger audit of hooli: OK/);
  }, 600_000);

  it('weight list, digest preview, status, --version and --verbose tell the operator what they need', async () => {
    await allotOk('org', 'create', 'piedpiper');
    expect(await allotOk('weight', 'list', 'piedpiper')).toBe(
      'No weights set in piedpiper: every category weighs 1. Set one with: allot weight set piedpiper review 1.5\n',
    );
    await allotOk('weight', 'set', 'piedpiper', 'review', '1.5');
    await allotOk('weight', 'set', 'piedpiper', 'docs', '0.25');
    expect(await allotOk('weight', 'list', 'piedpiper')).toBe(
      'category  weight\ndocs      0.25\nreview    1.5\nEvery other category weighs 1.\n',
    );

    const preview = await allotOk('digest', 'preview', 'piedpiper');
    expect(preview).toMatch(/^Allot weekly digest · \d+ \w+ – \d+ \w+\n=+\n/);
    expect(preview).toContain('Leaderboard (value-weighted tokens)');
    expect(preview).not.toMatch(/[<>*_]{2}/); // Plain text, no chat markup.

    const { version } = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    expect(await allotOk('--version')).toBe(`${version}\n`);

    const status = await allotOk('status');
    const where = onPostgres
      ? /^Database: PostgreSQL postgres@127\.0\.0\.1:5432\/allot_test_\w+$/m
      : new RegExp(`^Database: PGlite at ${escapeRegExp(path.join(dir.path, 'data'))} \\(opened directly\\)$`, 'm');
    expect(status).toMatch(/^Allot \d+\.\d+\.\d+\n/);
    expect(status).toMatch(where);
    expect(status).toMatch(/^Migrations: \d+ applied \(latest \d{4}_\w+\), none pending$/m);
    expect(status).toMatch(/^Organisations: [1-9]\d*$/m);
    expect(status).not.toMatch(/password|secret/i);

    const verbose = await allot('org', 'list', '--verbose');
    expect(verbose.code).toBe(0);
    expect(verbose.stderr).toMatch(where);
    expect(verbose.stdout).toMatch(/piedpiper/);
    // status says which database itself: --verbose does not say it a second time.
    const statusVerbose = await allot('status', '--verbose');
    expect(statusVerbose.code).toBe(0);
    expect(statusVerbose.stdout).toMatch(where);
    expect(`${statusVerbose.stderr}${statusVerbose.stdout}`.match(/^Database: /gm)).toHaveLength(1);
  }, 600_000);

  it.skipIf(onPostgres)(
    'the CLI run from a subfolder opens the same database, and creates none where it stands',
    async () => {
      // DATA_DIR relative to the project root, as an operator would write it in a .env file.
      const relative = path.relative(repoRoot, path.join(dir.path, 'data'));
      const fromRoot = await runCli(['org', 'create', 'subfolder-check'], { DATA_DIR: relative });
      expect(fromRoot.code, fromRoot.stderr).toBe(0);
      const subfolder = path.join(repoRoot, 'src', 'cli');
      const fromSubfolder = await runCli(['--verbose', 'org', 'list'], { DATA_DIR: relative }, { cwd: subfolder });
      expect(fromSubfolder.code, fromSubfolder.stderr).toBe(0);
      expect(fromSubfolder.stdout).toMatch(/subfolder-check/);
      expect(fromSubfolder.stderr).toContain(`Database: PGlite at ${path.join(dir.path, 'data')} (opened directly)`);
      expect(fromSubfolder.stderr).not.toContain('Created a new, empty database');
      expect(existsSync(path.join(subfolder, relative))).toBe(false);
    },
    240_000,
  );

  it('otlp category gives spans of a GenAI operation a category; bad names are refused with what to type', async () => {
    await allotOk('org', 'create', 'vandelay');
    expect(await allotOk('otlp', 'category', 'list', 'vandelay')).toBe(
      'No operation has a category in vandelay: spans without allot.category count under other. Set one with: allot otlp category set vandelay chat assistant\n',
    );
    expect(await allotOk('otlp', 'category', 'set', 'vandelay', 'Execute_Tool', 'Agents')).toBe(
      'Spans of execute_tool without allot.category now count under agents, from the next export on.\n',
    );
    await allotOk('otlp', 'category', 'set', 'vandelay', 'chat', 'assistant');
    expect(await allotOk('otlp', 'category', 'list', 'vandelay')).toBe(
      'operation     category\nchat          assistant\nexecute_tool  agents\nEvery other operation counts under other.\n',
    );
    expect(await allotRefused(1, 'otlp', 'category', 'set', 'vandelay', 'chat completions', 'assistant')).toContain(
      'like chat, embeddings or execute_tool',
    );
    expect(await allotRefused(1, 'otlp', 'category', 'set', 'vandelay', 'chat', 'AI chat!')).toBe(
      'Type a category like code, review, docs or chat (a-z, 0-9, _ and -).',
    );
    expect(await allotOk('otlp', 'category', 'remove', 'vandelay', 'chat')).toBe(
      'Spans of chat without allot.category count under other again.\n',
    );
    expect(await allotRefused(1, 'otlp', 'category', 'remove', 'vandelay', 'chat')).toBe(
      'No category is set for that operation; allot otlp category list <org> shows them.',
    );
    expect(await allotOk('otlp', 'category', 'list', 'vandelay')).toBe(
      'operation     category\nexecute_tool  agents\nEvery other operation counts under other.\n',
    );
  }, 300_000);
  it('dashboard link prints a one-time sign-in link for a member, and says what to set when the dashboard is off', async () => {
    expect(await allotRefused(1, 'dashboard', 'link', 'acme', 'ana@acme.test')).toBe(
      'The dashboard is off: set DASHBOARD_URL to its public address (like https://allot.acme.com), as the server has it.',
    );
    const on = await runCli(['dashboard', 'link', 'acme', 'ana@acme.test'], {
      ...env,
      DASHBOARD_URL: 'https://allot.acme.test/',
    });
    expect(on.code, on.stderr).toBe(0);
    expect(on.stdout.trim()).toMatch(/^https:\/\/allot\.acme\.test\/dashboard\/signin\/[A-Za-z0-9_-]{43}$/);
    expect(on.stderr).toContain('A sign-in link for Ana Lima: it works once, until');
    const stranger = await runCli(['dashboard', 'link', 'acme', 'nobody@acme.test'], {
      ...env,
      DASHBOARD_URL: 'https://allot.acme.test',
    });
    expect(stranger.code).toBe(1);
    expect(stranger.stdout).toBe('');
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
