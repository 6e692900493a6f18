import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestTopUp } from '../../src/approvals/approvals.usecases';
import { createDatabase } from '../../src/db/client';
import { systemClock } from '../../src/lib/clock';
import { expiryInstant, validUntilLabel } from '../../src/lib/expiry.models';
import { findMemberByEmail, findOrganisationBySlug } from '../../src/members/members.repository';
import { runCli, tempDir } from '../start/spawn';
import { createTestDatabase, onPostgres, type TestDatabase } from '../support/db';

// `--expires` and the organisation's default at the `allot` CLI, run as a real process per command.

let dir: Awaited<ReturnType<typeof tempDir>>;
let postgresDatabase: TestDatabase | undefined;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  dir = await tempDir('allot-cli-expiry-');
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

async function allotOk(...args: string[]): Promise<string> {
  const result = await runCli(args, env);
  if (result.code !== 0) throw new Error(`allot ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** A command that must fail with one friendly line (exit `code`) and print nothing else. */
async function allotRefused(code: number, ...args: string[]): Promise<string> {
  const result = await runCli(args, env);
  expect(result.code, `allot ${args.join(' ')}: ${result.stderr}`).toBe(code);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  return lines[0]!;
}

/** The database the CLI uses, opened by the test between commands (a request is made in chat, not at the CLI). */
async function withDatabase<T>(work: (db: Awaited<ReturnType<typeof createDatabase>>) => Promise<T>): Promise<T> {
  const db = await createDatabase(
    onPostgres ? { databaseUrl: postgresDatabase!.url, poolMax: 1 } : { dataDir: path.join(dir.path, 'data') },
  );
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

/** `31 Dec 2026`, for `days` days from now in Paris (the organisation's zone). */
const inDays = (days: number) =>
  validUntilLabel(
    expiryInstant({ kind: 'duration', days }, { now: new Date(), timeZone: 'Europe/Paris' })!,
    'Europe/Paris',
  );

describe('allot and expiring tokens', { timeout: 300_000 }, () => {
  // The tests share one database and run in order.
  it('grant and budget take --expires; the reply and allot balance say until when', async () => {
    await allotOk('org', 'create', 'exp', '--time-zone', 'Europe/Paris');
    await allotOk('member', 'add', 'exp', 'Mia Manager', '--email', 'mia@exp.test', '--role', 'manager');
    await allotOk('member', 'add', 'exp', 'Ana Lima', '--email', 'ana@exp.test', '--manager', 'mia@exp.test');
    expect(await allotOk('grant', 'exp', '1k', 'ana@exp.test', '--expires', '2027-03-31')).toMatch(
      /^Granted 1,000 tokens, valid until 31 Mar 2027 to Ana Lima <ana@exp\.test> #\d+ \(from the treasury\)\. Transfer \d+\.$/m,
    );
    expect(await allotOk('budget', 'exp', 'mia@exp.test', '50k', 'Q1', '--expires', '90d')).toMatch(
      new RegExp(`^Issued 50,000 tokens, valid until ${inDays(90)} to the budget of Mia Manager`),
    );
    expect(await allotOk('balance', 'exp', 'ana@exp.test')).toContain(
      'wallet 1,000, budget 0; 1,000 tokens expire on 31 Mar 2027',
    );
    expect(await allotOk('balance', 'exp', 'mia@exp.test')).toContain(
      `50,000 tokens of the budget expire on ${inDays(90)}`,
    );
  });

  it('an expiry in the past, too far ahead or unreadable ends the command with one line and writes nothing', async () => {
    expect(await allotRefused(1, 'grant', 'exp', '1k', 'ana@exp.test', '--expires', '2020-01-01')).toMatch(
      /^That expiry \(1 Jan 2020\) has already passed; nothing was written\. Use a later date, like --expires \d{4}-\d\d-\d\d, or a number of days, like --expires 90d\.$/,
    );
    expect(await allotRefused(1, 'grant', 'exp', '1k', 'ana@exp.test', '--expires', '2040-01-01')).toMatch(
      /more than 5 years ahead; nothing was written\. Use a date up to --expires \d{4}-\d\d-\d\d/,
    );
    expect(await allotRefused(1, 'grant', 'exp', '1k', 'ana@exp.test', '--expires', '1.5d')).toBe(
      '--expires: “1.5d” is not a number of days. Type a whole number of days like 90d.',
    );
    expect(await allotRefused(1, 'budget', 'exp', 'mia@exp.test', '1k', '--expires', 'soon')).toMatch(
      /^--expires: “soon” is not a date I can read\./,
    );
    expect(await allotOk('balance', 'exp', 'ana@exp.test')).toContain('wallet 1,000,');
  });

  it('org set default-expiry applies to grants that name none; none removes it; other settings are refused', async () => {
    expect(await allotOk('org', 'set', 'exp', 'default-expiry', '30d')).toBe(
      'Tokens granted, approved or added to budgets in exp now expire after 30 days unless a command says otherwise (--expires).\n',
    );
    expect(await allotOk('org', 'list')).toMatch(/exp\s+exp\s+Europe\/Paris\s+30 days/);
    expect(await allotOk('grant', 'exp', '500', 'ana@exp.test')).toContain(`tokens, valid until ${inDays(30)} to Ana`);
    expect(await allotOk('grant', 'exp', '500', 'ana@exp.test', '--expires', 'never')).toMatch(
      /^Granted 500 tokens to Ana/,
    );
    expect(await allotRefused(1, 'org', 'set', 'exp', 'default-expiry', '0d')).toContain('would expire at once');
    expect(await allotRefused(2, 'org', 'set', 'exp', 'colour', 'red')).toBe(
      'There is no setting "colour". The one setting is default-expiry, e.g. allot org set exp default-expiry 90d',
    );
    expect(await allotOk('org', 'set', 'exp', 'default-expiry', 'none')).toContain('now never expire');
  });

  it('an allowance takes --expires, and refuses it beside a rollover cap', async () => {
    expect(await allotOk('allowance', 'set', 'exp', 'member', '1k', 'weekly', '--expires', '10d')).toBe(
      'Allowance set: 1,000 tokens weekly for member; its tokens expire 10 days after each period starts.\n',
    );
    expect(
      await allotRefused(
        1,
        'allowance',
        'set',
        'exp',
        'member',
        '1k',
        'weekly',
        '--rollover-cap',
        '5',
        '--expires',
        '10d',
      ),
    ).toMatch(/^Allowance not set: An allowance that expires carries nothing over/);
    expect(await allotOk('allowance', 'list', 'exp')).toContain('its tokens expire 10 days after each period starts');
  });

  it('request list shows what waits; request approve --expires pays from the treasury with tokens that expire', async () => {
    const requestId = await withDatabase(async (db) => {
      const org = (await findOrganisationBySlug(db.orm, 'exp'))!;
      const ana = (await findMemberByEmail(db.orm, org.id, 'ana@exp.test'))!;
      const asked = await requestTopUp(
        { db, clock: systemClock },
        {
          orgId: org.id,
          actor: { memberId: ana.id, platform: 'slack' },
          amount: 2_000n,
          reason: 'evals',
          idempotencyKey: 'k1',
        },
      );
      if (!asked.ok) throw new Error(asked.failure);
      return asked.value.request.id;
    });
    expect(await allotOk('request', 'list', 'exp')).toMatch(new RegExp(`${requestId}\\s+Ana Lima\\s+2,000\\s+evals`));
    expect(await allotRefused(1, 'request', 'approve', 'exp', String(requestId), '--expires', '2020-01-01')).toContain(
      'has already passed',
    );
    expect(await allotOk('request', 'approve', 'exp', String(requestId), '--expires', '14d')).toBe(
      `Approved request ${requestId}: 2,000 tokens from the treasury, valid until ${inDays(14)}. The requester is not told from the CLI.\n`,
    );
    expect(await allotRefused(1, 'request', 'approve', 'exp', String(requestId))).toBe(
      'That request was already decided.',
    );
    expect(await allotOk('request', 'list', 'exp')).toBe('No requests are waiting in exp.\n');
    expect(await allotOk('audit', 'exp')).toMatch(/OK/);
  });

  it('reverse takes back only what remains of a grant, says how much, and refuses one wholly spent', async () => {
    await allotOk('member', 'add', 'exp', 'Ben Ng', '--email', 'ben@exp.test', '--manager', 'mia@exp.test');
    const grantOf = async (amount: string) =>
      /Transfer (\d+)\./.exec(await allotOk('grant', 'exp', amount, 'ben@exp.test', '--expires', 'never'))![1]!;
    const spend = async (id: string, tokens: number) => {
      const file = path.join(dir.path, `${id}.csv`);
      const time = new Date(Date.now() - 60_000).toISOString();
      await writeFile(
        file,
        `id,time,user,model,input_tokens,output_tokens\n${id},${time},ben@exp.test,gpt-4o,${tokens},0\n`,
      );
      expect(await allotOk('usage', 'import', 'exp', file)).toContain('1 rows: 1 accepted');
    };
    const first = await grantOf('1k');
    await spend('ben-1', 400);
    expect(await allotOk('reverse', 'exp', first)).toMatch(
      new RegExp(
        `^Reversed transfer ${first} \\(grant, 1,000 tokens\\) with transfer \\d+: 600 tokens taken back, the rest was already spent or expired\\.\n$`,
      ),
    );
    const second = await grantOf('300');
    await spend('ben-2', 300);
    expect(await allotRefused(1, 'reverse', 'exp', second)).toBe(
      'Nothing of that transfer is left to reverse: its tokens were all spent or expired, and what was spent stays spent.',
    );
    expect(await allotOk('balance', 'exp', 'ben@exp.test')).toMatch(/: wallet 0, budget 0\n$/);
    expect(await allotOk('audit', 'exp')).toMatch(/OK/);
  });
});
