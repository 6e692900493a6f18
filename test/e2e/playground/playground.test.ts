import { sql } from 'drizzle-orm';
import type { Locator } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { queryRows } from '../../../src/db/client';
import { auditLedger, getBalances } from '../../../src/ledger/ledger.usecases';
import { findMemberByEmail, listOrganisations } from '../../../src/members/members.repository';
import { createTestCtx, onPostgres } from '../../support/db';
import { at, type PlaygroundRun, playgroundBotName, playgroundUsers, startPlaygroundRun } from './playground-harness';

// Allot in Microsoft's own Teams emulator, the Microsoft 365 Agents Playground, as people use it: Alex
// Wilber, the Playground's default user (an admin by email), works in the group chat, picking people
// from the @ list; Patti Fernandez, in a second Playground, approves his request by clicking the card.
// Every assertion is on what the page renders (Adaptive Cards through the Playground's renderer), then
// on the ledger. Screenshots of every step go to test-results/playground/.

const { alex, megan, adele, patti } = playgroundUsers;
const bot = at(playgroundBotName);

/** Text a card shows, as the browser renders it (Markdown already turned into bold and italics). */
async function shown(card: Locator): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator.innerText is the text as laid out, what a person reads.
  return card.innerText();
}

/**
 * A card must never show Markdown markers as text: Adaptive Card Markdown is a CommonMark subset, and a
 * `**` the renderer did not read as bold (for example a closing `**` after a space) is printed as is.
 * Soft, so the rest of the step's assertions still run and report.
 */
function expectNoRawMarkdown(text: string): void {
  expect.soft(text, 'a rendered card shows a literal **').not.toContain('**');
}

let run: PlaygroundRun;
let step = 0;

beforeAll(async () => {
  if (onPostgres) return;
  run = await startPlaygroundRun();
}, 200_000);

afterAll(async () => {
  await run?.close();
});

beforeEach(({ task, onTestFailed }) => {
  step += 1;
  const name = `${String(step).padStart(2, '0')}-failed`;
  onTestFailed(async () => {
    await run?.alex.screenshot(`${name}-alex`).catch(() => {});
    await run?.patti.screenshot(`${name}-patti`).catch(() => {});
    console.error(`screenshots of the failed step "${task.name}" are in test-results/playground/${name}-*.png`);
  });
});

// The subject is Teams as the Playground renders it; the database behind it is the default one
// (PGlite): the file runs once per CI run, not again on PostgreSQL (most of a minute of CI).
describe.skipIf(onPostgres)('Allot in the Microsoft 365 Agents Playground', () => {
  it('the approver opens her personal chat with the bot and sees her own balance', async () => {
    await run.patti.open('Personal Chat');
    const card = await run.patti.send(['balance']);
    await run.patti.screenshot('01-patti-balance');
    const text = await shown(card);
    expect(text).toContain('Your tokens');
    expect(text).toMatch(/Wallet\s+0 tokens/);
    expectNoRawMarkdown(text);
  });

  it('an admin named by email makes a person picked from the @ list a manager, in the group chat', async () => {
    await run.alex.open('Group Chat');
    const card = await run.alex.send([bot, ' tokens role ', at(megan.name), ' manager']);
    await run.alex.screenshot('02-role');
    const text = await shown(card);
    expect(text).toContain(`${megan.name} is now a manager`);
    expectNoRawMarkdown(text);
  });

  it('the admin gives that manager a budget of 500k, shown as 500,000 tokens', async () => {
    const card = await run.alex.send([bot, ' tokens budget ', at(megan.name), ' 500k']);
    await run.alex.screenshot('03-budget');
    const text = await shown(card);
    expect(text).toContain(`500,000 tokens to ${megan.name}`);
    expect(text).toContain('Their budget is now 500,000 tokens');
    expectNoRawMarkdown(text);
  });

  it('a grant to two people picked from the @ list names both, the amount each and the reason', async () => {
    const card = await run.alex.send([
      bot,
      ' grant-tokens ',
      at(megan.name),
      ' ',
      at(adele.name),
      ' 50k shipped the migration',
    ]);
    await run.alex.screenshot('04-grant');
    const text = await shown(card);
    expect(text).toContain(`50,000 tokens each to ${megan.name} and ${adele.name}`);
    expect(text).toContain('shipped the migration');
    expect(text).toContain('treasury');
    expectNoRawMarkdown(text);
  });

  it("balance @person shows that person's name, wallet and the grant with its reason, with no raw Markdown", async () => {
    const card = await run.alex.send([bot, ' balance ', at(adele.name)]);
    await run.alex.screenshot('05-balance-adele');
    const text = await shown(card);
    expect(text).toContain(adele.name);
    expect(text).toMatch(/Wallet\s+50,000 tokens/);
    expect(text).toContain(`+50,000 grant from ${alex.name}`);
    expect(text).toContain('shipped the migration');
    expectNoRawMarkdown(text);
  });

  it('a top-up request in the group chat says who was asked, for how much and why, with a Cancel button', async () => {
    const card = await run.alex.send([bot, ' request-tokens 200k eval runs']);
    await run.alex.screenshot('06-request');
    const text = await shown(card);
    expect(text).toContain(`Asked ${patti.name} for 200,000 tokens`);
    expect(text).toContain('eval runs');
    await expect(card.getByRole('button', { name: 'Cancel request' }).isVisible()).resolves.toBe(true);
    expectNoRawMarkdown(text);
  });

  it("the request reaches the approver's personal chat as a card with Approve and Deny", async () => {
    const card = await run.patti.cardShowing('Top-up request');
    await run.patti.screenshot('07-approval-card');
    const text = await shown(card);
    expect(text).toContain(`${alex.name} asks for 200,000 tokens`);
    expect(text).toContain('eval runs');
    await expect(card.getByRole('button', { name: 'Approve' }).isVisible()).resolves.toBe(true);
    await expect(card.getByRole('button', { name: 'Deny' }).isVisible()).resolves.toBe(true);
    expectNoRawMarkdown(text);
  });

  it("the approver's Approve click turns the card into the decision, without buttons", async () => {
    const card = run.patti.cards().filter({ hasText: 'Top-up request' }).last();
    await card.getByRole('button', { name: 'Approve' }).click();
    await card.getByText(`Approved by ${patti.name}`).waitFor();
    await run.patti.screenshot('08-approved');
    const text = await shown(card);
    expect(text).toContain(`${alex.name} asks for 200,000 tokens`);
    expect(await card.getByRole('button').count()).toBe(0);
    expectNoRawMarkdown(text);
  });

  it('the requester is told in his personal chat, and his balance there shows the 200,000 tokens', async () => {
    await run.alex.open('Personal Chat');
    const notice = await run.alex.cardShowing(`approved by ${patti.name}`);
    const noticeText = await shown(notice);
    expect(noticeText).toContain('200,000 tokens');
    expectNoRawMarkdown(noticeText);
    const card = await run.alex.send(['balance']);
    await run.alex.screenshot('09-requester-balance');
    const text = await shown(card);
    expect(text).toContain('Your tokens');
    expect(text).toMatch(/Wallet\s+200,000 tokens/);
    expectNoRawMarkdown(text);
  });

  it('the ledger holds exactly what the page showed, and its invariants hold', async () => {
    expect(await run.stopAllot()).toBe(0);
    const db = await run.database();
    const [org, ...others] = await listOrganisations(db.orm);
    expect(others).toEqual([]);
    if (!org) throw new Error('Allot made no organisation for the Playground tenant');
    const balancesOf = async (email: string) => {
      const member = await findMemberByEmail(db.orm, org.id, email);
      if (!member) throw new Error(`no member with email ${email}`);
      const balances = await getBalances(db.orm, org.id, member.id);
      return { role: member.role, wallet: balances?.wallet, budget: balances?.budget };
    };
    expect(await balancesOf(megan.email)).toEqual({ role: 'manager', wallet: 50_000n, budget: 500_000n });
    expect(await balancesOf(adele.email)).toMatchObject({ wallet: 50_000n, budget: 0n });
    expect(await balancesOf(alex.email)).toMatchObject({ role: 'admin', wallet: 200_000n, budget: 0n });
    const transfers = await queryRows<{ code: string; amount: string; memo: string }>(
      db.orm,
      sql`select code, amount::text as amount, memo from transfers where org_id = ${org.id.toString()}::bigint order by id`,
    );
    expect(transfers.map(({ code, amount }) => `${code} ${amount}`)).toEqual([
      'issue 500000',
      'grant 50000',
      'grant 50000',
      'topup 200000',
    ]);
    expect(await auditLedger(createTestCtx(db), { orgId: org.id })).toEqual([]);
  });
});
