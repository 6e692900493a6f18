import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { sql } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../../src/db/client';
import { auditLedger, getBalances, grantTokens } from '../../../src/ledger/ledger.usecases';
import { exportColumns } from '../../../src/ledger/transfer-listing.usecases';
import { operatorActor } from '../../../src/lib/context';
import type { Member } from '../../../src/members/members.repository';
import { setLeaderboardOption, setLeaderboardOptOut } from '../../../src/usage/leaderboard.usecases';
import { ingestUsage } from '../../../src/usage/usage.usecases';
import { usageExportColumns } from '../../../src/usage/usage-export.usecases';
import { makeMember, makeOrganisation, uniqueKey } from '../../support/fixtures';
import { type DashboardRun, mainText, shown, startDashboardRun } from './dashboard-harness';

// The organisation's pages in headless Chromium, as an admin uses them: charts of usage and money with
// their tables, the leaderboard with the privacy settings applied, budgets, the ledger (filtered and
// paged), a reversal with its confirmation, prices and weights, API keys and the CSV exports. Members
// and managers are refused every one of them.

let run: DashboardRun;
let admin: Member;
let mia: Member;
let people: Member[];

async function count(table: string, where = sql`true`): Promise<number> {
  const [row] = await queryRows<{ n: string }>(
    run.ctx.db.orm,
    sql`select count(*)::text as n from ${sql.raw(table)} where ${where}`,
  );
  return Number(row?.n);
}

beforeAll(async () => {
  run = await startDashboardRun();
  const org = await makeOrganisation(run.ctx);
  admin = await makeMember(run.ctx, org.id, { name: 'Ada Admin', role: 'admin', email: 'ada@acme.test' });
  mia = await makeMember(run.ctx, org.id, { name: 'Mia Manager', role: 'manager', email: 'mia@acme.test' });
  people = await Promise.all(
    ['Ana Lima', 'Ben Ng', 'Cy Opted-Out'].map((name, index) =>
      makeMember(run.ctx, org.id, { name, email: `p${index}@acme.test`, managerId: mia.id }),
    ),
  );
  const granted = await grantTokens(run.ctx, {
    orgId: org.id,
    actor: operatorActor,
    recipientIds: people.map((person) => person.id),
    amount: 5_000_000n,
    memo: '=HYPERLINK("https://evil.example") <script>alert(1)</script>',
    idempotencyKey: uniqueKey('grant'),
  });
  if (!granted.ok) throw new Error(granted.failure);
  // Sixty usage events over the last twenty days, on three models and two categories.
  const now = run.ctx.clock.now().getTime();
  const events = Array.from({ length: 60 }, (_, index) => ({
    id: `evt-${index}`,
    time: new Date(now - (index % 20) * 86_400_000 - 3_600_000).toISOString(),
    user: `p${index % 3}@acme.test`,
    model: ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4-5'][index % 3]!,
    category: index % 2 === 0 ? 'code' : 'review',
    input_tokens: 1_000 + index * 10,
    output_tokens: 500,
  }));
  const ingested = await ingestUsage(run.ctx, { orgId: org.id, events });
  if (!ingested.ok || ingested.value.accepted !== 60) throw new Error('usage not ingested');
  await setLeaderboardOptOut(run.ctx, { orgId: org.id, memberId: people[2]!.id, optOut: true, platform: 'slack' });
}, 120_000);

afterAll(async () => {
  await run?.close();
});

/** True when Chart.js drew a chart on every canvas of the page. */
async function chartsDrawn(page: Page): Promise<boolean[]> {
  return page
    .locator('figure[data-chart] canvas')
    .evaluateAll((canvases) =>
      canvases.map((canvas) =>
        Boolean((window as unknown as { Chart: { getChart(c: unknown): unknown } }).Chart.getChart(canvas)),
      ),
    );
}

describe('the organisation page', () => {
  it('shows usage and money by model as charts with their tables, the leaderboard and budgets', async () => {
    const page = await run.signIn(admin);
    await page.getByRole('link', { name: 'Organisation' }).click();
    await page.waitForURL(`${run.baseUrl}/dashboard/org`);
    expect(await chartsDrawn(page)).toEqual([true, true]);
    const text = await mainText(page);
    expect(text).toContain('Tokens per day by model, last 30 days');
    expect(text).toContain('Money per day by model, last 30 days');
    expect(text).toMatch(/All\s+60\s/);
    expect(text).toContain('Leaderboard');
    expect(text).toContain('Ana Lima');
    expect(text).not.toContain('Cy Opted-Out');
    expect(text).toMatch(/Mia Manager\s+manager\s+0\s+3/);
    await page.getByText('Table of “Tokens per day by model, last 30 days”').click();
    await expect(page.locator('table').first().locator('tbody tr').count()).resolves.toBe(30);
    await run.screenshot(page, 'org');
    await page.getByRole('link', { name: 'Category' }).click();
    await expect(mainText(page)).resolves.toContain('Tokens per day by category');
    await expect(mainText(page)).resolves.toContain('review');
    await page.getByRole('link', { name: 'Last 90 days' }).click();
    await expect(page.locator('figure[data-chart]').count()).resolves.toBe(2);
    expect(page.url()).toContain('days=90');
    expect(page.url()).toContain('by=category');
    await page.context().close();
  });

  it('applies the leaderboard’s privacy: hidden money is not shown, and an off leaderboard says so', async () => {
    const orgId = admin.orgId;
    await setLeaderboardOption(run.ctx, { orgId, actor: operatorActor, option: { kind: 'hide-money' } });
    const page = await run.signIn(admin);
    await page.goto(`${run.baseUrl}/dashboard/org?board=month`);
    const board = page.locator('section[aria-labelledby="leaderboard"]');
    await expect(shown(board)).resolves.not.toContain('Money');
    await expect(shown(board)).resolves.toContain('money is hidden');
    await setLeaderboardOption(run.ctx, { orgId, actor: operatorActor, option: { kind: 'off' } });
    await page.reload();
    await expect(shown(board)).resolves.toContain('The leaderboard is off');
    await setLeaderboardOption(run.ctx, { orgId, actor: operatorActor, option: { kind: 'on' } });
    await setLeaderboardOption(run.ctx, { orgId, actor: operatorActor, option: { kind: 'show-money' } });
    await page.context().close();
  });

  it('is refused to managers and members, with every admin page behind it', async () => {
    for (const who of [mia, people[0]!]) {
      const page = await run.signIn(who);
      await expect(page.getByRole('link', { name: 'Organisation' }).count()).resolves.toBe(0);
      for (const path of ['/org', '/org/ledger', '/org/prices', '/org/keys', '/org/export/transfers.csv']) {
        const response = await page.request.get(`${run.baseUrl}/dashboard${path}`);
        expect(response.status(), `${who.displayName} ${path}`).toBe(403);
      }
      await page.context().close();
    }
  });
});

describe('the ledger', () => {
  it('pages back fifty at a time and filters by member, code and date; memos are text', async () => {
    for (let index = 0; index < 55; index++) {
      const granted = await grantTokens(run.ctx, {
        orgId: admin.orgId,
        actor: operatorActor,
        recipientIds: [people[1]!.id],
        amount: 1_000n,
        memo: `bonus ${index}`,
        idempotencyKey: uniqueKey('bonus'),
      });
      if (!granted.ok) throw new Error(granted.failure);
    }
    const page = await run.signIn(admin);
    await page.goto(`${run.baseUrl}/dashboard/org/ledger`);
    await expect(page.locator('tbody tr').count()).resolves.toBe(50);
    await run.screenshot(page, 'ledger');
    await page.getByRole('link', { name: 'Older' }).click();
    expect(page.url()).toMatch(/before=\d+/);
    await expect(page.locator('tbody tr').count()).resolves.toBeGreaterThan(0);

    await page.goto(`${run.baseUrl}/dashboard/org/ledger`);
    await page.getByLabel('Member').fill('p0@acme.test');
    await page.getByLabel('Code').selectOption('grant');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect(page.locator('tbody tr').count()).resolves.toBe(1);
    const row = await shown(page.locator('tbody tr').first());
    expect(row).toContain('wallet p0@acme.test');
    expect(row).toContain('=HYPERLINK("https://evil.example") <script>alert(1)</script>');

    const tomorrow = new Date(run.ctx.clock.now().getTime() + 86_400_000).toISOString().slice(0, 10);
    await page.goto(`${run.baseUrl}/dashboard/org/ledger?from=${tomorrow}`);
    await expect(mainText(page)).resolves.toContain('No transfers match.');
    const bad = await page.goto(`${run.baseUrl}/dashboard/org/ledger?from=2026-02-30`);
    expect(bad?.status()).toBe(400);
    await expect(shown(page.getByRole('alert'))).resolves.toContain('2026-02-30');
    await page.context().close();
  });

  it('a reversal asks first, moves the tokens back once, and leaves its audit row', async () => {
    const ben = people[1]!;
    const before = (await getBalances(run.ctx.db.orm, ben.orgId, ben.id))!.wallet;
    const page = await run.signIn(admin);
    await page.goto(`${run.baseUrl}/dashboard/org/ledger?member=p1@acme.test&code=grant`);
    const link = page.getByRole('link', { name: /^Reverse transfer \d+$/ }).first();
    const transferId = (await link.getAttribute('aria-label'))!.replace('Reverse transfer ', '');
    await link.click();
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
      `Reverse transfer #${transferId}?`,
    );
    expect((await getBalances(run.ctx.db.orm, ben.orgId, ben.id))!.wallet).toBe(before);
    await run.screenshot(page, 'reverse-confirm');
    await page.getByLabel('Why').fill('granted twice');
    const confirm = page.getByRole('button', { name: `Reverse transfer #${transferId}` });
    await confirm.click();
    await page.waitForURL(/\/dashboard\/org\/ledger\?reversal=\d+$/);
    await expect(shown(page.getByRole('status'))).resolves.toContain('was reversed by transfer');
    expect((await getBalances(run.ctx.db.orm, ben.orgId, ben.id))!.wallet).toBe(before - 1_000n);
    expect(
      await count(
        'audit_log',
        sql`action = 'transfer.reverse' and platform = 'web' and details->>'transferId' = ${transferId}`,
      ),
    ).toBe(1);

    await page.goto(`${run.baseUrl}/dashboard/org/ledger/${transferId}/reverse`);
    await expect(mainText(page)).resolves.toContain('already reversed');
    await expect(page.getByRole('button', { name: /^Reverse transfer/ }).count()).resolves.toBe(0);
    expect(await auditLedger(run.ctx, { orgId: admin.orgId })).toEqual([]);
    await page.context().close();
  });
});

describe('prices, weights and API keys', () => {
  it('an admin sets a price, dated, through the verb of /tokens price; a bad one is refused and changes nothing', async () => {
    const page = await run.signIn(admin);
    await page.getByRole('link', { name: 'Prices and weights' }).click();
    await page.getByLabel('Model').fill('house-model-1');
    await page.getByLabel('Input').fill('1.25');
    await page.getByLabel('Output').fill('5');
    await page.getByLabel('From').fill('2026-01-01');
    await page.getByRole('button', { name: 'Set price' }).click();
    await page.waitForURL(`${run.baseUrl}/dashboard/org/prices?notice=price`);
    const row = await shown(page.getByRole('row').filter({ hasText: 'house-model-1' }));
    expect(row).toMatch(/house-model-1\s+2026-01-01 00:00\s+1\.25\s+5\s+set here/);
    expect(await count('audit_log', sql`action = 'price.set' and platform = 'web'`)).toBe(1);
    await run.screenshot(page, 'prices');

    const before = await count('model_prices');
    await page.getByLabel('Model').fill('house-model-2');
    await page.getByLabel('Input').fill('-3');
    await page.getByLabel('Output').fill('5');
    await page.getByRole('button', { name: 'Set price' }).click();
    await expect(shown(page.getByRole('alert'))).resolves.toMatch(/price/i);
    expect(await count('model_prices')).toBe(before);

    await page.getByLabel('Category').fill('review');
    await page.getByRole('textbox', { name: /^Weight/ }).fill('1.5');
    await page.getByRole('button', { name: 'Set weight' }).click();
    await expect(shown(page.getByRole('row').filter({ hasText: 'review' }))).resolves.toMatch(/review\s+1\.5/);
    await page.context().close();
  });

  it('a new API key is shown once and works for the usage API until revoked', async () => {
    const page = await run.signIn(admin);
    await page.goto(`${run.baseUrl}/dashboard/org/keys`);
    await page.getByLabel('Name').fill('ci-gateway');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.locator('.key').textContent())!;
    expect(key).toMatch(/^allot_[A-Za-z0-9_-]{43}$/);
    await run.screenshot(page, 'keys');
    const send = () =>
      fetch(`${run.baseUrl}/v1/usage`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events: [] }),
      });
    expect((await send()).status).toBe(200);
    await page.goto(`${run.baseUrl}/dashboard/org/keys`);
    await expect(mainText(page)).resolves.not.toContain(key);
    await page.getByRole('button', { name: 'Revoke key ci-gateway' }).click();
    await expect(shown(page.getByRole('status'))).resolves.toContain('was revoked');
    expect((await send()).status).toBe(401);
    expect(await count('audit_log', sql`action in ('apikey.create', 'apikey.revoke') and platform = 'web'`)).toBe(2);
    await page.context().close();
  });
});

describe('CSV exports', () => {
  it('an admin exports transfers and usage; formulas are defused', async () => {
    const page = await run.signIn(admin);
    await page.goto(`${run.baseUrl}/dashboard/org`);
    const exports = page.locator('section[aria-labelledby="exports"]');
    const [transfersDownload] = await Promise.all([
      page.waitForEvent('download'),
      exports.getByRole('button', { name: 'Export transfers' }).click(),
    ]);
    const transfers = parse(await readFile((await transfersDownload.path())!, 'utf8'), { columns: true }) as Record<
      string,
      string
    >[];
    expect(Object.keys(transfers[0]!)).toEqual([...exportColumns]);
    expect(transfers.length).toBe(await count('transfers', sql`org_id = ${admin.orgId.toString()}::bigint`));
    expect(transfers.find((row) => row.memo?.includes('HYPERLINK'))?.memo).toBe(
      `'=HYPERLINK("https://evil.example") <script>alert(1)</script>`,
    );
    const [usageDownload] = await Promise.all([
      page.waitForEvent('download'),
      exports.getByRole('button', { name: 'Export usage' }).click(),
    ]);
    const usage = parse(await readFile((await usageDownload.path())!, 'utf8'), { columns: true }) as Record<
      string,
      string
    >[];
    expect(Object.keys(usage[0]!)).toEqual([...usageExportColumns]);
    expect(usage.reduce((sum, row) => sum + Number(row.events), 0)).toBe(60);
    expect(usage.every((row) => /^\d+\.\d{6}$/.test(row.cost_usd!))).toBe(true);
    await page.context().close();
  });
});
