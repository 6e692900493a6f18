import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ledgerOf, settle, setUpTeam } from '../e2e/slack/team';
import { runCli } from '../start/spawn';
import { type SlackHarness, SlackWorkspace, startSlackHarness } from '../support/app';
import { onPostgres } from '../support/db';
import { textOf } from '../support/fake-slack';

// The operator's first hour: the server runs (startAllot, with Slack fed signed requests) and the
// operator uses the real `allot` CLI beside it, at the same time as people grant in Slack. On PGlite
// the CLI goes through the server's socket; on Postgres both use DATABASE_URL.

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness();
});
afterAll(async () => h?.stop());

const chatGrantsMin = 24;
const chatConcurrency = 3;
const cliGrants = 4;
/** CLI processes start this far apart: each compiles the sources, and the machine has two cores. */
const cliStaggerMs = 700;

it('operators grant at the CLI while managers grant in Slack: every grant lands exactly once and the audit is clean', async () => {
  const ws = new SlackWorkspace(h);
  await setUpTeam(ws, '1M');
  const ledger = ledgerOf(h, ws);
  const org = await ledger.org();
  const [ana, ben] = [await ledger.member('UANA'), await ledger.member('UBEN')];
  const { config } = h.allot.deps;
  const env = config.DATABASE_URL ? { DATABASE_URL: config.DATABASE_URL } : { DATA_DIR: config.DATA_DIR };
  const lockPath = path.join(config.DATA_DIR, 'allot.lock');
  const lockOwner = onPostgres ? undefined : readFileSync(lockPath, 'utf8');

  let cliRunning = true;
  const cli = Promise.all(
    Array.from({ length: cliGrants }, async (_, i) => {
      await new Promise((resolve) => setTimeout(resolve, i * cliStaggerMs));
      return runCli(
        ['--verbose', 'grant', org.slug, '2k', ana.id.toString(), ben.id.toString(), '--memo', `cli grant ${i}`],
        env,
      );
    }),
  ).finally(() => {
    cliRunning = false;
  });
  // Mia keeps granting in Slack for as long as the CLI processes run (and at least chatGrantsMin times).
  let sent = 0;
  const replies: string[] = [];
  const chat = Promise.all(
    Array.from({ length: chatConcurrency }, async () => {
      while (cliRunning || sent < chatGrantsMin) {
        const i = sent++;
        const { reply } = await ws.command(
          'UMIA',
          '/grant-tokens',
          `<@${i % 2 === 0 ? 'UANA' : 'UBEN'}> 1k chat grant ${i}`,
        );
        replies.push(textOf(reply));
      }
    }),
  );
  const [cliDone] = await Promise.all([cli, chat]);
  const chatGrants = sent;
  for (const reply of replies) expect(reply).toContain('You granted *1,000 tokens*');
  for (const run of cliDone) {
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Granted 2,000 tokens each to Ana .*, Ben .* \(4,000 in all, from the treasury\)/);
    if (!onPostgres) expect(run.stderr).toContain("through the running server's socket");
  }
  await settle(h);

  const transfers = (await ledger.transfers()).filter((transfer) => transfer.code === 'grant');
  for (let i = 0; i < chatGrants; i++) {
    expect(transfers.filter((transfer) => transfer.memo === `chat grant ${i}`)).toHaveLength(1);
  }
  for (let i = 0; i < cliGrants; i++) {
    expect(transfers.filter((transfer) => transfer.memo === `cli grant ${i}`)).toHaveLength(2);
  }
  expect(transfers).toHaveLength(chatGrants + 2 * cliGrants);
  // The two streams really overlapped: chat grants were posted between the first and the last CLI grant.
  const cliTimes = transfers.filter((t) => t.memo.startsWith('cli')).map((t) => t.createdAt.getTime());
  const chatTimes = transfers.filter((t) => t.memo.startsWith('chat')).map((t) => t.createdAt.getTime());
  const [firstCli, lastCli] = [Math.min(...cliTimes), Math.max(...cliTimes)];
  expect(chatTimes.filter((time) => time > firstCli && time < lastCli).length).toBeGreaterThan(0);
  const anaChat = BigInt(Math.ceil(chatGrants / 2) * 1_000);
  const benChat = BigInt(Math.floor(chatGrants / 2) * 1_000);
  expect(await ledger.wallet('UANA')).toBe(anaChat + BigInt(cliGrants * 2_000));
  expect(await ledger.wallet('UBEN')).toBe(benChat + BigInt(cliGrants * 2_000));
  expect(await ledger.budget('UMIA')).toBe(1_000_000n - BigInt(chatGrants * 1_000));

  const audit = await runCli(['audit', org.slug], env);
  expect(audit.code, audit.stderr).toBe(0);
  expect(audit.stdout).toMatch(/^Ledger audit of .*: OK/);
  expect(await ledger.audit()).toEqual([]);
  // One writer all along: the server kept the folder's lock, and no CLI process ever took it.
  if (lockOwner !== undefined) expect(readFileSync(lockPath, 'utf8')).toBe(lockOwner);
}, 240_000);
