import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestTopUp } from '../../../src/approvals/approvals.usecases';
import { queryRows } from '../../../src/db/client';
import { grantTokens } from '../../../src/ledger/ledger.usecases';
import { operatorActor } from '../../../src/lib/context';
import type { Member } from '../../../src/members/members.repository';
import { sessionIdleMs, signInLinkValidityMs } from '../../../src/sessions/sessions.models';
import { makeTeam, uniqueKey } from '../../support/fixtures';
import { type DashboardRun, mainText, shown, startDashboardRun } from './dashboard-harness';

// Signing in to the dashboard from a one-time link, in headless Chromium, and what a session allows:
// the Me page of the person signed in and nobody else's, forms that change something only from the
// page itself, sign-out, and links and sessions that stop working when they should.

const hostileMemo = '<script>window.hacked = 1</script> & <b>not bold</b>';

let run: DashboardRun;
let people: Awaited<ReturnType<typeof makeTeam>>;

async function countRows(table: 'audit_log' | 'topup_requests' | 'transfers'): Promise<number> {
  const [row] = await queryRows<{ n: string }>(run.ctx.db.orm, sql`select count(*)::text as n from ${sql.raw(table)}`);
  return Number(row?.n);
}

async function grant(to: Member, amount: bigint, memo: string) {
  const granted = await grantTokens(run.ctx, {
    orgId: to.orgId,
    actor: operatorActor,
    recipientIds: [to.id],
    amount,
    memo,
    idempotencyKey: uniqueKey('grant'),
  });
  if (!granted.ok) throw new Error(granted.failure);
}

beforeAll(async () => {
  run = await startDashboardRun();
  people = await makeTeam(run.ctx);
  await grant(people.ana, 120_000n, hostileMemo);
  await grant(people.ben, 7_777n, 'only for Ben');
}, 120_000);

afterAll(async () => {
  await run?.close();
});

describe('signing in from a link', () => {
  it('a link opens the Me page of its member, and no token is left in the address', async () => {
    const page = await run.signIn(people.ana);
    expect(page.url()).toBe(`${run.baseUrl}/dashboard/me`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('My tokens');
    const text = await mainText(page);
    expect(text).toContain('120,000 tokens');
    expect(text).not.toContain('7,777');
    await run.screenshot(page, 'me');
    await page.context().close();
  });

  it('a memo with <script> in it is shown as text and never runs', async () => {
    const page = await run.signIn(people.ana);
    await expect(page.getByText(hostileMemo, { exact: true }).count()).resolves.toBe(1);
    await expect(page.evaluate(() => (window as unknown as { hacked?: number }).hacked)).resolves.toBeUndefined();
    await expect(page.locator('main b').count()).resolves.toBe(0);
    await page.context().close();
  });

  it('a link that was already used is refused, and says how to get a new one', async () => {
    const link = await run.link(people.ben);
    const first = await run.browser.newContext();
    const page = await first.newPage();
    await page.goto(link);
    await page.waitForURL(`${run.baseUrl}/dashboard/me`);
    const second = await run.browser.newContext();
    const again = await second.newPage();
    const response = await again.goto(link);
    expect(response?.status()).toBe(410);
    await expect(mainText(again)).resolves.toContain('already used');
    await expect(mainText(again)).resolves.toContain('/tokens dashboard');
    await run.screenshot(again, 'signin-link-used');
    await first.close();
    await second.close();
  });

  it('a link older than 10 minutes is refused and starts no session', async () => {
    const link = await run.link(people.ben);
    run.ctx.clock.advanceMs(signInLinkValidityMs + 1_000);
    const context = await run.browser.newContext();
    const page = await context.newPage();
    const response = await page.goto(link);
    expect(response?.status()).toBe(410);
    await expect(mainText(page)).resolves.toContain('expired');
    expect((await context.cookies()).map((cookie) => cookie.name)).not.toContain('allot_session');
    await context.close();
  });

  it('a made-up link is refused', async () => {
    const context = await run.browser.newContext();
    const page = await context.newPage();
    const response = await page.goto(`${run.baseUrl}/dashboard/signin/${'A'.repeat(43)}`);
    expect(response?.status()).toBe(404);
    await context.close();
  });
});

describe('a session', () => {
  it('is an HttpOnly, SameSite=Lax cookie, and every page carries a CSP without inline script', async () => {
    const page = await run.signIn(people.ana);
    const [cookie] = (await page.context().cookies()).filter((c) => c.name === 'allot_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: false, path: '/' });
    const response = await page.goto(`${run.baseUrl}/dashboard/me`);
    const csp = response?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response?.headers()['cache-control']).toBe('no-store');
    await page.context().close();
  });

  it('without a session, a page sends the browser to the sign-in page', async () => {
    const context = await run.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${run.baseUrl}/dashboard/me`);
    expect(page.url()).toBe(`${run.baseUrl}/dashboard/signin?ended=none`);
    await expect(mainText(page)).resolves.toContain('one-time link');
    await context.close();
  });

  it('signing out ends the session, and its cookie no longer opens a page', async () => {
    const page = await run.signIn(people.ana);
    const [cookie] = (await page.context().cookies()).filter((c) => c.name === 'allot_session');
    const before = await countRows('audit_log');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${run.baseUrl}/dashboard/signin?ended=signed_out`);
    expect(await countRows('audit_log')).toBe(before + 1);
    const replay = await fetch(`${run.baseUrl}/dashboard/me`, {
      headers: { cookie: `allot_session=${cookie!.value}` },
      redirect: 'manual',
    });
    expect(replay.status).toBe(303);
    expect(replay.headers.get('location')).toBe('/dashboard/signin?ended=expired');
    await page.context().close();
  });

  it('ends after 12 hours without a request', async () => {
    const page = await run.signIn(people.ben);
    run.ctx.clock.advanceMs(sessionIdleMs + 60_000);
    await page.goto(`${run.baseUrl}/dashboard/me`);
    expect(page.url()).toBe(`${run.baseUrl}/dashboard/signin?ended=expired`);
    await page.context().close();
  });
});

describe('forms that change something', () => {
  it('cancelling one’s own request from the Me page uses the chat verb and writes its audit row', async () => {
    const asked = await requestTopUp(run.ctx, {
      orgId: people.ana.orgId,
      actor: { memberId: people.ana.id, platform: 'slack' },
      amount: 5_000n,
      reason: 'eval runs',
      idempotencyKey: uniqueKey('request'),
    });
    if (!asked.ok) throw new Error(asked.failure);
    const page = await run.signIn(people.ana);
    const before = await countRows('audit_log');
    await page.getByRole('button', { name: `Cancel request ${asked.value.request.id}` }).click();
    await page.waitForURL(`${run.baseUrl}/dashboard/me?notice=cancelled`);
    await expect(shown(page.getByRole('status'))).resolves.toContain('Your request was cancelled.');
    const [row] = await queryRows<{ state: string; action: string; platform: string }>(
      run.ctx.db.orm,
      sql`select r.state, a.action, a.platform from topup_requests r
            join audit_log a on a.org_id = r.org_id and a.details->>'requestId' = r.id::text and a.action = 'topup_request.cancel'
           where r.id = ${asked.value.request.id.toString()}::bigint`,
    );
    expect(row).toEqual({ state: 'cancelled', action: 'topup_request.cancel', platform: 'web' });
    expect(await countRows('audit_log')).toBe(before + 1);
    await page.context().close();
  });

  it('a forged CSRF token is refused with 403 and changes nothing', async () => {
    const asked = await requestTopUp(run.ctx, {
      orgId: people.ben.orgId,
      actor: { memberId: people.ben.id, platform: 'slack' },
      amount: 6_000n,
      idempotencyKey: uniqueKey('request'),
    });
    if (!asked.ok) throw new Error(asked.failure);
    const page = await run.signIn(people.ben);
    const before = await Promise.all([countRows('audit_log'), countRows('topup_requests'), countRows('transfers')]);
    await page.locator('input[name="_csrf"]').evaluateAll((inputs) => {
      for (const input of inputs) (input as HTMLInputElement).value = 'forged-token-forged-token-forged-token-xxxx';
    });
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: `Cancel request ${asked.value.request.id}` }).click(),
    ]);
    expect(response.status()).toBe(403);
    await expect(mainText(page)).resolves.toContain('nothing was changed');
    await run.screenshot(page, 'csrf-refused');
    const after = await Promise.all([countRows('audit_log'), countRows('topup_requests'), countRows('transfers')]);
    expect(after).toEqual(before);
    const [request] = await queryRows<{ state: string }>(
      run.ctx.db.orm,
      sql`select state from topup_requests where id = ${asked.value.request.id.toString()}::bigint`,
    );
    expect(request?.state).toBe('pending');
    await page.context().close();
  });

  it('a form posted from another origin is refused even with the right token', async () => {
    const page = await run.signIn(people.ben);
    const token = await page.locator('input[name="_csrf"]').first().inputValue();
    const [cookie] = (await page.context().cookies()).filter((c) => c.name === 'allot_session');
    const before = await countRows('audit_log');
    const response = await fetch(`${run.baseUrl}/dashboard/signout`, {
      method: 'POST',
      headers: {
        cookie: `allot_session=${cookie!.value}`,
        origin: 'https://evil.example',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ _csrf: token }).toString(),
      redirect: 'manual',
    });
    expect(response.status).toBe(403);
    expect(await countRows('audit_log')).toBe(before);
    await page.context().close();
  });
});
