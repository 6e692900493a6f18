import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topUpKeyForRequest } from '../../../src/approvals/approvals.models';
import { requestTopUp } from '../../../src/approvals/approvals.usecases';
import { runAction } from '../../../src/chat/actions.usecases';
import { queryRows } from '../../../src/db/client';
import { auditLedger, getBalances } from '../../../src/ledger/ledger.usecases';
import type { Member } from '../../../src/members/members.repository';
import { makeMember, makeTeam, uniqueKey } from '../../support/fixtures';
import { type DashboardRun, mainText, shown, startDashboardRun } from './dashboard-harness';

// "My team" in headless Chromium: a manager sees their reports and the requests waiting for them, and
// Approve and Deny run the chat core's own click, so a request is decided once, the tokens move once,
// and a refusal reads as it does in chat.

let run: DashboardRun;
let people: Awaited<ReturnType<typeof makeTeam>>;

beforeAll(async () => {
  run = await startDashboardRun();
  people = await makeTeam(run.ctx, 100_000n);
}, 120_000);

afterAll(async () => {
  await run?.close();
});

async function ask(requester: Member, amount: bigint, reason: string) {
  const asked = await requestTopUp(run.ctx, {
    orgId: requester.orgId,
    actor: { memberId: requester.id, platform: 'slack' },
    amount,
    reason,
    idempotencyKey: uniqueKey('request'),
  });
  if (!asked.ok) throw new Error(asked.failure);
  return asked.value.request;
}

const wallet = async (member: Member) => (await getBalances(run.ctx.db.orm, member.orgId, member.id))!.wallet;

async function topUpsOf(requestId: bigint) {
  return queryRows<{ amount: string; platform: string }>(
    run.ctx.db.orm,
    sql`select t.amount::text, t.platform from transfers t
         where t.code = 'topup' and t.operation_key = ${topUpKeyForRequest(requestId)}`,
  );
}

describe('My team', () => {
  it('a manager approves a request; the requester’s balance changes once, however often it is clicked', async () => {
    const request = await ask(people.ana, 20_000n, 'eval runs');
    const page = await run.signIn(people.manager);
    await page.getByRole('link', { name: 'My team' }).click();
    await page.waitForURL(`${run.baseUrl}/dashboard/team`);
    const text = await mainText(page);
    expect(text).toContain('Waiting for your decision');
    expect(text).toContain('eval runs');
    expect(text).toMatch(/Ana\s+0\s+0/);
    await run.screenshot(page, 'team');
    const before = await wallet(people.ana);

    // The approval form, submitted twice: from the page, then the same form again (a double click, a retry).
    const form = page.locator(`form[action="/dashboard/team/requests/${request.id}/approve"]`);
    const token = await form.locator('input[name="_csrf"]').inputValue();
    await page.getByRole('button', { name: `Approve request ${request.id} from Ana` }).click();
    await page.waitForURL(`${run.baseUrl}/dashboard/team?notice=approved`);
    await expect(shown(page.getByRole('status'))).resolves.toContain('approved');
    const again = await page.request.post(`${run.baseUrl}/dashboard/team/requests/${request.id}/approve`, {
      form: { _csrf: token },
      headers: { origin: run.baseUrl },
    });
    expect(again.status()).toBe(409);
    expect(await again.text()).toContain('already');

    expect(await wallet(people.ana)).toBe(before + 20_000n);
    expect(await topUpsOf(request.id)).toEqual([{ amount: '20000', platform: 'web' }]);
    const [audit] = await queryRows<{ platform: string }>(
      run.ctx.db.orm,
      sql`select platform from audit_log where action = 'topup_request.approve' and details->>'requestId' = ${request.id.toString()}`,
    );
    expect(audit?.platform).toBe('web');
    expect(await auditLedger(run.ctx, { orgId: people.org.id })).toEqual([]);
    await page.context().close();
  });

  it('an approval from the page and a click in chat at the same moment move the tokens once', async () => {
    const request = await ask(people.ben, 3_000n, 'race');
    const page = await run.signIn(people.manager);
    await page.goto(`${run.baseUrl}/dashboard/team`);
    const before = await wallet(people.ben);
    await Promise.all([
      page.getByRole('button', { name: `Approve request ${request.id} from Ben` }).click(),
      runAction(run.running.deps, {
        platform: 'slack',
        org: people.org,
        actor: people.manager,
        actionId: 'request.approve',
        value: request.id.toString(),
      }),
    ]);
    await page.waitForLoadState();
    expect(await wallet(people.ben)).toBe(before + 3_000n);
    expect(await topUpsOf(request.id)).toHaveLength(1);
    expect(await auditLedger(run.ctx, { orgId: people.org.id })).toEqual([]);
    await page.context().close();
  });

  it('a denial carries the reason typed with it, and moves nothing', async () => {
    const request = await ask(people.ben, 4_000n, 'more GPUs');
    const page = await run.signIn(people.manager);
    await page.goto(`${run.baseUrl}/dashboard/team`);
    const before = await wallet(people.ben);
    const row = page.getByRole('row').filter({ hasText: 'more GPUs' });
    await row.getByLabel('Reason').fill('<i>next quarter</i>');
    await row.getByRole('button', { name: /^Deny/ }).click();
    await page.waitForURL(`${run.baseUrl}/dashboard/team?notice=denied`);
    const [decided] = await queryRows<{ state: string; decision_note: string }>(
      run.ctx.db.orm,
      sql`select state, decision_note from topup_requests where id = ${request.id.toString()}::bigint`,
    );
    expect(decided).toEqual({ state: 'denied', decision_note: '<i>next quarter</i>' });
    expect(await wallet(people.ben)).toBe(before);
    await page.context().close();
  });

  it('an approval the budget cannot pay is refused in chat’s words, and the request stays pending', async () => {
    const request = await ask(people.ana, 500_000n, 'a lot');
    const page = await run.signIn(people.manager);
    await page.goto(`${run.baseUrl}/dashboard/team`);
    const before = await wallet(people.ana);
    await page.getByRole('button', { name: `Approve request ${request.id} from Ana` }).click();
    await expect(shown(page.getByRole('alert'))).resolves.toMatch(/budget/i);
    await run.screenshot(page, 'team-refused');
    expect(await wallet(people.ana)).toBe(before);
    const [pending] = await queryRows<{ state: string }>(
      run.ctx.db.orm,
      sql`select state from topup_requests where id = ${request.id.toString()}::bigint`,
    );
    expect(pending?.state).toBe('pending');
    await page.context().close();
  });

  it('a member without reports cannot open My team, and sees no link to it', async () => {
    const page = await run.signIn(people.ana);
    await expect(page.getByRole('link', { name: 'My team' }).count()).resolves.toBe(0);
    const response = await page.goto(`${run.baseUrl}/dashboard/team`);
    expect(response?.status()).toBe(403);
    const posted = await page.request.post(`${run.baseUrl}/dashboard/team/requests/1/approve`, {
      form: { _csrf: await page.locator('input[name="_csrf"]').first().inputValue() },
      headers: { origin: run.baseUrl },
    });
    expect(posted.status()).toBe(403);
    await page.context().close();
  });

  it('a manager sees only the people who report to them', async () => {
    const other = await makeMember(run.ctx, people.org.id, { name: 'Olga Other', role: 'manager' });
    await makeMember(run.ctx, people.org.id, { name: 'Oscar of Olga', managerId: other.id });
    const page = await run.signIn(people.manager);
    await page.goto(`${run.baseUrl}/dashboard/team`);
    const text = await mainText(page);
    expect(text).toContain('Ana');
    expect(text).not.toContain('Oscar of Olga');
    await page.context().close();
  });
});
