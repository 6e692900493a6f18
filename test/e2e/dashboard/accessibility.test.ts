import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestTopUp } from '../../../src/approvals/approvals.usecases';
import { grantTokens } from '../../../src/ledger/ledger.usecases';
import { operatorActor } from '../../../src/lib/context';
import type { Member } from '../../../src/members/members.repository';
import { ingestUsage } from '../../../src/usage/usage.usecases';
import { onPostgres } from '../../support/db';
import { makeMember, makeOrganisation, uniqueKey } from '../../support/fixtures';
import { type DashboardRun, startDashboardRun } from './dashboard-harness';

// Every page of the dashboard, filled with data, checked by axe-core (@axe-core/playwright) in
// headless Chromium: no violation of serious or critical impact on any of them. The screenshots of
// this run are the README's pictures (test-results/dashboard/page-*.png).

let run: DashboardRun;
let admin: Member;
let mia: Member;
let ana: Member;

beforeAll(async () => {
  if (onPostgres) return;
  run = await startDashboardRun();
  const org = await makeOrganisation(run.ctx, `acme-${uniqueKey().slice(2, 8)}`);
  admin = await makeMember(run.ctx, org.id, { name: 'Ada Admin', role: 'admin', email: 'ada@acme.test' });
  mia = await makeMember(run.ctx, org.id, { name: 'Mia Manager', role: 'manager', email: 'mia@acme.test' });
  ana = await makeMember(run.ctx, org.id, { name: 'Ana Lima', email: 'ana@acme.test', managerId: mia.id });
  const ben = await makeMember(run.ctx, org.id, { name: 'Ben Ng', email: 'ben@acme.test', managerId: mia.id });
  // Ana near her limit after the month's usage, Ben with plenty left.
  for (const [member, amount] of [
    [ana, 550_000n],
    [ben, 2_000_000n],
    [mia, 1_000_000n],
  ] as const) {
    const granted = await grantTokens(run.ctx, {
      orgId: org.id,
      actor: operatorActor,
      recipientIds: [member.id],
      amount,
      memo: 'launch week',
      idempotencyKey: uniqueKey('grant'),
    });
    if (!granted.ok) throw new Error(granted.failure);
  }
  const now = run.ctx.clock.now().getTime();
  // Every day of the last four weeks, each person on each of four models, busier on weekdays.
  const models = [
    { model: 'gpt-4o', tokens: 9_000, category: 'code' },
    { model: 'claude-sonnet-4-5', tokens: 7_000, category: 'review' },
    { model: 'gpt-4o-mini', tokens: 4_000, category: 'chat' },
    { model: 'o3', tokens: 2_500, category: 'docs' },
  ];
  const people = ['ana@acme.test', 'ben@acme.test', 'mia@acme.test'];
  const events = Array.from({ length: 28 * models.length * people.length }, (_, index) => {
    const day = Math.floor(index / (models.length * people.length));
    const kind = models[index % models.length]!;
    const at = new Date(now - day * 86_400_000 - 7_200_000);
    const weekday = at.getUTCDay() % 6 === 0 ? 0.35 : 1;
    const tokens = Math.round(kind.tokens * weekday * (1 + 0.4 * Math.sin(day / 2 + index)));
    return {
      id: `a11y-${index}`,
      time: at.toISOString(),
      user: people[Math.floor(index / models.length) % people.length]!,
      model: kind.model,
      category: kind.category,
      input_tokens: Math.round(tokens * 0.8),
      output_tokens: Math.round(tokens * 0.2),
    };
  });
  const ingested = await ingestUsage(run.ctx, { orgId: org.id, events });
  if (!ingested.ok) throw new Error('usage');
  const asked = await requestTopUp(run.ctx, {
    orgId: org.id,
    actor: { memberId: ana.id, platform: 'slack' },
    amount: 200_000n,
    reason: 'eval runs',
    idempotencyKey: uniqueKey('request'),
  });
  if (!asked.ok) throw new Error(asked.failure);
}, 120_000);

afterAll(async () => {
  await run?.close();
});

/** axe's serious and critical violations on the page as it stands, by rule id and the elements hit. */
async function seriousViolations(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => ({ rule: violation.id, nodes: violation.nodes.map((node) => node.target.join(' ')) }));
}

// What axe checks is the pages' markup, which is the same whichever database is behind them: the
// file runs once per CI run, on the default database (PGlite), not again on PostgreSQL (a minute of CI).
describe.skipIf(onPostgres)('accessibility of every page (axe: no serious or critical violations)', () => {
  it('the Me page, with its chart table open', async () => {
    const page = await run.signIn(ana);
    await page
      .getByText(/^Table of/)
      .first()
      .click();
    expect(await seriousViolations(page)).toEqual([]);
    await page
      .getByText(/^Table of/)
      .first()
      .click();
    await run.screenshot(page, 'page-me');
    await page.context().close();
  });

  it('My team, and the Organisation page by model and by category', async () => {
    const manager = await run.signIn(mia);
    await manager.goto(`${run.baseUrl}/dashboard/team`);
    expect(await seriousViolations(manager)).toEqual([]);
    await run.screenshot(manager, 'page-team');
    await manager.context().close();

    const page = await run.signIn(admin);
    await page.goto(`${run.baseUrl}/dashboard/org`);
    expect(await seriousViolations(page)).toEqual([]);
    await run.screenshot(page, 'page-org');
    await page.goto(`${run.baseUrl}/dashboard/org?by=category&days=90&board=quarter`);
    expect(await seriousViolations(page)).toEqual([]);
    await page.context().close();
  });

  it('the ledger, a reversal’s confirmation, prices and weights, API keys with a new key', async () => {
    const page = await run.signIn(admin);
    await page.goto(`${run.baseUrl}/dashboard/org/ledger`);
    expect(await seriousViolations(page)).toEqual([]);
    await run.screenshot(page, 'page-ledger');
    await page
      .getByRole('link', { name: /^Reverse transfer/ })
      .first()
      .click();
    expect(await seriousViolations(page)).toEqual([]);
    await run.screenshot(page, 'page-reverse');
    await page.goto(`${run.baseUrl}/dashboard/org/prices`);
    expect(await seriousViolations(page)).toEqual([]);
    await run.screenshot(page, 'page-prices');
    await page.goto(`${run.baseUrl}/dashboard/org/keys`);
    await page.getByLabel('Name').fill('ci-gateway');
    await page.getByRole('button', { name: 'Create key' }).click();
    expect(await seriousViolations(page)).toEqual([]);
    await run.screenshot(page, 'page-keys');
    await page.context().close();
  });

  it('the sign-in pages, a refusal and a page that is not there', async () => {
    const context = await run.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${run.baseUrl}/dashboard/me`);
    expect(await seriousViolations(page)).toEqual([]);
    await run.screenshot(page, 'page-signin');
    const member = await run.signIn(ana);
    await member.goto(`${run.baseUrl}/dashboard/org`);
    expect(await seriousViolations(member)).toEqual([]);
    await member.goto(`${run.baseUrl}/dashboard/nowhere`);
    expect(await seriousViolations(member)).toEqual([]);
    await member.context().close();
    await context.close();
  });
});
