import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestTopUp } from '../../../src/approvals/approvals.usecases';
import { grantTokens } from '../../../src/ledger/ledger.usecases';
import { operatorActor } from '../../../src/lib/context';
import type { Member } from '../../../src/members/members.repository';
import { ingestUsage } from '../../../src/usage/usage.usecases';
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
  run = await startDashboardRun();
  const org = await makeOrganisation(run.ctx, `acme-${uniqueKey().slice(2, 8)}`);
  admin = await makeMember(run.ctx, org.id, { name: 'Ada Admin', role: 'admin', email: 'ada@acme.test' });
  mia = await makeMember(run.ctx, org.id, { name: 'Mia Manager', role: 'manager', email: 'mia@acme.test' });
  ana = await makeMember(run.ctx, org.id, { name: 'Ana Lima', email: 'ana@acme.test', managerId: mia.id });
  const ben = await makeMember(run.ctx, org.id, { name: 'Ben Ng', email: 'ben@acme.test', managerId: mia.id });
  const granted = await grantTokens(run.ctx, {
    orgId: org.id,
    actor: operatorActor,
    recipientIds: [ana.id, ben.id, mia.id],
    amount: 400_000n,
    memo: 'launch week',
    idempotencyKey: uniqueKey('grant'),
  });
  if (!granted.ok) throw new Error(granted.failure);
  const now = run.ctx.clock.now().getTime();
  const models = ['gpt-4o', 'claude-sonnet-4-5', 'gpt-4o-mini', 'o3'];
  const events = Array.from({ length: 240 }, (_, index) => ({
    id: `a11y-${index}`,
    time: new Date(now - (index % 28) * 86_400_000 - 7_200_000).toISOString(),
    user: ['ana@acme.test', 'ben@acme.test', 'mia@acme.test'][index % 3]!,
    model: models[index % models.length]!,
    category: ['code', 'review', 'docs', 'chat'][index % 4]!,
    input_tokens: 2_000 + ((index * 37) % 3_000),
    output_tokens: 400 + ((index * 11) % 900),
  }));
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

describe('accessibility of every page (axe: no serious or critical violations)', () => {
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
