import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../start/spawn';
import { createTestDatabase, onPostgres, type TestDatabase } from '../support/db';

// What an operator types at the CLI, read strictly: amounts by the one amount rule, dates by the one
// date reader, large grants only with --yes, and usage CSVs checked before and while importing. Each
// refusal is one line, exit 1, and writes nothing. Real processes, as `npx allot` runs them.

let dir: Awaited<ReturnType<typeof tempDir>>;
let postgresDatabase: TestDatabase | undefined;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  dir = await tempDir('allot-cli-inputs-');
  if (onPostgres) {
    postgresDatabase = await createTestDatabase({ poolMax: 1 });
    env = { DATABASE_URL: postgresDatabase.url };
  } else {
    env = { DATA_DIR: path.join(dir.path, 'data') };
  }
  await allotOk('org', 'create', 'acme');
  await allotOk('member', 'add', 'acme', 'Mia Manager', '--email', 'mia@acme.test', '--role', 'manager');
  await allotOk('member', 'add', 'acme', 'Ana Lima', '--email', 'ana@acme.test');
  await allotOk('member', 'add', 'acme', 'Ben', '--email', 'ben@acme.test');
}, 300_000);
afterAll(async () => {
  await postgresDatabase?.close();
  await dir.remove();
});

const allot = (...args: string[]) => runCli(args, env);

async function allotOk(...args: string[]): Promise<string> {
  const result = await allot(...args);
  if (result.code !== 0) throw new Error(`allot ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** A refusal: exit 1, nothing on stdout, one line on stderr. */
async function allotRefused(...args: string[]): Promise<string> {
  const result = await allot(...args);
  expect(result.code, `allot ${args.join(' ')}: ${result.stderr}`).toBe(1);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  return lines[0]!;
}

/** Every transfer of the organisation, oldest first, as [code, amount]. */
async function movements(): Promise<string[][]> {
  const listed = await allotOk('transfers', 'acme', '--limit', '500');
  return listed
    .split('\n')
    .filter((line) => /^\d+\s/.test(line))
    .map((line) => {
      const [, , code, , , amount] = line.split(/\s{2,}/);
      return [code!, amount!];
    })
    .reverse();
}

describe('amounts at the CLI follow the chat rule: one word, and a following number is a question', () => {
  it('"50 100" before a member or a memo is refused with both readings; a grouping space inside one word is fine', async () => {
    expect(await allotRefused('grant', 'acme', '50', '100', 'ana@acme.test')).toBe(
      '“50 100” could be one amount, 50,100 tokens, or 50 tokens to member 100, so nothing was done. ' +
        'For 50,100 tokens type 50100; for 50 tokens each, name member 100 by email.',
    );
    expect(await allotRefused('budget', 'acme', 'mia@acme.test', '50', '100', 'commits', 'reviewed')).toMatch(
      /^“50 100” could be one amount, 50,100 tokens, or 50 tokens with a reason .* like: 50 for 100 commits reviewed$/,
    );
    expect(await allotRefused('budget', 'acme', 'mia@acme.test', '50,000', '100', 'commits')).toMatch(
      /^“50,000 100” could be one amount, 50,000,100 tokens/,
    );
    // A no-break space inside one word, or a space inside one quoted argument, separates thousands.
    expect(await allotOk('grant', 'acme', '1\u00a0000', 'ana@acme.test')).toMatch(/^Granted 1,000 tokens to Ana Lima/);
    expect(await allotOk('budget', 'acme', 'mia@acme.test', '50 000', '3', 'PRs', 'merged')).toMatch(
      /^Issued 50,000 tokens to the budget of Mia Manager/,
    );
    // The ledger holds exactly those two, and nothing from the refusals.
    expect(await movements()).toEqual([
      ['grant', '1,000'],
      ['issue', '50,000'],
    ]);
  }, 300_000);
});

describe('dates at the CLI: YYYY-MM-DD or a full date-time with its zone, nothing rolls over', () => {
  it('export --from 2026-02-30, --from 1 and --to 2026-13-01 are refused with exit 1, and no file is written', async () => {
    const file = path.join(dir.path, 'refused.csv');
    expect(await allotRefused('export', 'acme', '--from', '2026-02-30', '--output', file)).toBe(
      '--from: “2026-02-30” is not a date: February 2026 has 28 days, not 30. Type a date like 2026-01-31, or a date and ' +
        'time with its zone like 2026-01-31T09:00:00Z or 2026-01-31T09:00:00+01:00.',
    );
    expect(await allotRefused('export', 'acme', '--from', '1', '--output', file)).toMatch(
      /^--from: “1” is a number, not a date\./,
    );
    expect(await allotRefused('export', 'acme', '--to', '2026-13-01', '--output', file)).toMatch(
      /there is no month 13/,
    );
    expect(await allotRefused('export', 'acme', '--from', '2026-01-31T09:00:00', '--output', file)).toMatch(
      /has no time zone/,
    );
    await expect(access(file)).rejects.toThrow();
    const exported = await allot(
      'export',
      'acme',
      '--from',
      '2000-01-01',
      '--to',
      '2100-01-01T00:00:00+01:00',
      '--output',
      file,
    );
    expect(exported.code, exported.stderr).toBe(0);
    await access(file);
  }, 300_000);

  it('price set --from 2026-02-30 is refused and sets no price; --from 2026-12-01 is midnight UTC', async () => {
    expect(await allotRefused('price', 'set', 'acme', 'gpt-4o', '2.50', '10', '--from', '2026-02-30')).toMatch(
      /^--from: “2026-02-30” is not a date/,
    );
    expect(await allotRefused('price', 'set', 'acme', 'gpt-4o', '2.50', '10', '--from', '2026')).toMatch(
      /is a number, not a date/,
    );
    expect(await allotOk('price', 'set', 'acme', 'gpt-4o', '2.50', '10', '--from', '2026-12-01')).toMatch(
      /from 2026-12-01T00:00:00\.000Z\.$/m,
    );
    // Only the accepted one was set.
    const set = (await allotOk('price', 'list', 'acme')).split('\n').filter((line) => /\bset$/.test(line));
    expect(set).toHaveLength(1);
    expect(set[0]).toMatch(/^gpt-4o\s+2026-12-01 00:00\s+2\.5\s+10\s+set$/);
  }, 300_000);
});

describe('a grant or budget of more than 10,000,000 tokens in all needs --yes', () => {
  it('without --yes: exit 1, nothing written, and the line says to add --yes; with it, it is posted', async () => {
    const before = await movements();
    expect(await allotRefused('grant', 'acme', '20M', 'ana@acme.test')).toBe(
      'Granting 20,000,000 tokens is more than 10,000,000 tokens at once, so it needs a confirmation: nothing was written. ' +
        'If that is what you mean, run the same command again with --yes.',
    );
    expect(await allotRefused('grant', 'acme', '6M', 'ana@acme.test', 'ben@acme.test')).toMatch(
      /^Granting 12,000,000 tokens in all \(6,000,000 each to 2 members\) is more than 10,000,000 .* --yes\.$/,
    );
    expect(await allotRefused('budget', 'acme', 'mia@acme.test', '11M', 'annual')).toMatch(
      /^Issuing 11,000,000 tokens .* --yes\.$/,
    );
    // Exactly the limit needs nothing more.
    expect(await allotOk('grant', 'acme', '10M', 'ben@acme.test')).toMatch(/^Granted 10,000,000 tokens/);
    expect(await allotOk('grant', 'acme', '6M', 'ana@acme.test', 'ben@acme.test', '--yes')).toMatch(
      /^Granted 6,000,000 tokens each .* \(12,000,000 in all/,
    );
    expect(await allotOk('budget', 'acme', 'mia@acme.test', '11M', '--yes')).toMatch(/^Issued 11,000,000 tokens/);
    expect(await movements()).toEqual([
      ...before,
      ['grant', '10,000,000'],
      ['grant', '6,000,000'],
      ['grant', '6,000,000'],
      ['issue', '11,000,000'],
    ]);
  }, 300_000);
});

describe('allot usage import', () => {
  const header = 'id,time,user,model,input_tokens,output_tokens,category';
  const write = async (name: string, lines: string[]) => {
    const file = path.join(dir.path, name);
    await writeFile(file, lines.join('\n'));
    return file;
  };

  it('names unknown and missing columns of the header and imports nothing; an empty file is refused', async () => {
    const bad = await write('bad-header.csv', [
      'id,time,user,modle,input_tokens',
      'e1,2026-01-02T10:00:00Z,ana@acme.test,gpt-4o,1',
    ]);
    expect(await allotRefused('usage', 'import', 'acme', bad)).toBe(
      'Nothing imported: the header (line 1) has unknown column modle; missing columns model, output_tokens. ' +
        'The columns are: id,time,user,model,input_tokens,output_tokens,category (category optional; OpenTelemetry names also work).',
    );
    const empty = await write('empty.csv', []);
    expect(await allotRefused('usage', 'import', 'acme', empty)).toBe(
      `The file is empty. Its first line names the columns, like: ${header}`,
    );
  }, 300_000);

  it('rejects rows with the wrong number of cells by line and exits 1, keeping the rows it accepted', async () => {
    const file = await write('rows.csv', [
      header,
      'imp-1,2026-01-02T10:00:00Z,ana@acme.test,gpt-4o,100,0,code',
      'imp-2,2026-01-02T10:00:00Z,ana@acme.test,gpt-4o,100,0,code,extra',
      'imp-3,2026-01-02T10:00:00Z,ana@acme.test,,100,0,code',
      'imp-4,2026-01-02T10:00:00Z,ana@acme.test,gpt-4o,50,0,code',
    ]);
    const result = await allot('usage', 'import', 'acme', file);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('4 rows: 2 accepted, 0 duplicate (already imported), 2 rejected.');
    expect(result.stdout).toContain(
      '  line 3 (imp-2): wrong_cell_count: The row has 8 cells but the header names 7 columns.',
    );
    expect(result.stdout).toContain(
      '  line 4 (imp-3): missing_field: "model" (or gen_ai.request.model, gen_ai.response.model) is missing',
    );
    expect(result.stderr.trim().split('\n').at(-1)).toBe(
      '2 of 4 rows were rejected (listed above); the others were imported. Fix those rows and import the file again: imported rows are not imported twice.',
    );
    // The two accepted rows were kept: one usage transfer of 150 tokens.
    expect((await movements()).at(-1)).toEqual(['usage', '150']);
    const clean = await write('clean.csv', [header, 'imp-5,2026-01-02T10:00:00Z,ana@acme.test,gpt-4o,10,0,code']);
    const imported = await allot('usage', 'import', 'acme', clean);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain('1 rows: 1 accepted');
  }, 300_000);
});

describe('first-hour mistakes at the CLI get one line that says what to do', () => {
  it('a mistyped organisation suggests the nearest one; an unknown one says how to create it', async () => {
    expect(await allotRefused('balance', 'acmee', 'ana@acme.test')).toBe(
      'No organisation "acmee". Did you mean acme? See: allot org list',
    );
    expect(await allotRefused('balance', 'amce', 'ana@acme.test')).toBe(
      'No organisation "amce". Did you mean acme? See: allot org list',
    );
    expect(await allotRefused('balance', 'globex', 'ana@acme.test')).toBe(
      'No organisation "globex". Create it with: allot org create globex',
    );
  });

  it('a mistyped command gets commander’s suggestion and one line pointing at --help, not the whole help', async () => {
    const result = await allot('stauts');
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      "error: unknown command 'stauts'",
      '(Did you mean status?)',
      'Run allot --help for the commands, or allot <command> --help for one.',
    ]);
  });

  it('status on a PostgreSQL server that refuses the connection is one line with exit 1, like every command', async () => {
    const result = await runCli(['status'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/allot' });
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toEqual([
      'Cannot connect to PostgreSQL at 127.0.0.1:1: connection refused. Is PostgreSQL running, and are the host and port in DATABASE_URL right?',
    ]);
    expect(result.stderr).not.toMatch(/DrizzleQueryError|\n\s+at /);
  });

  it('a person named twice in a grant is paid once and named once', async () => {
    const line = await allotOk('grant', 'acme', '10', 'ben@acme.test', 'ben@acme.test', '--memo', 'twice');
    expect(line.match(/Ben/g)).toHaveLength(1);
    expect(line).toMatch(/^Granted 10 tokens to Ben <ben@acme\.test> #\d+ \(from the treasury\)\. Transfer \d+\.$/m);
  });
});
