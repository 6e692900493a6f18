import { afterAll, beforeAll, expect, it } from 'vitest';
import { grantTokens } from '../../../src/ledger/ledger.usecases';
import { operatorActor } from '../../../src/lib/context';
import type { ExpiryInput } from '../../../src/lib/expiry.models';
import type { Member } from '../../../src/members/members.repository';
import { makeTeam, uniqueKey } from '../../support/fixtures';
import { type DashboardRun, mainText, startDashboardRun } from './dashboard-harness';

// The Me page's "Tokens expiring": what of the signed-in member's wallet will expire, lot by lot, the
// soonest first, in headless Chromium.

let run: DashboardRun;
let people: Awaited<ReturnType<typeof makeTeam>>;

async function grant(to: Member, amount: bigint, memo: string, expiry: ExpiryInput) {
  const granted = await grantTokens(run.ctx, {
    orgId: to.orgId,
    actor: operatorActor,
    recipientIds: [to.id],
    amount,
    memo,
    idempotencyKey: uniqueKey('grant'),
    expiry,
  });
  if (!granted.ok) throw new Error(granted.failure);
}

beforeAll(async () => {
  run = await startDashboardRun();
  people = await makeTeam(run.ctx);
  await grant(people.ana, 1_500n, 'hackathon <b>bonus</b>', { kind: 'date', year: 2027, month: 12, day: 31 });
  await grant(people.ana, 700n, 'launch week', { kind: 'date', year: 2027, month: 6, day: 30 });
  await grant(people.ana, 9_000n, 'lasting', { kind: 'never' });
}, 120_000);

afterAll(async () => {
  await run?.close();
});

it('the Me page lists the tokens that will expire, soonest first, with the reason, and none that never expire', async () => {
  const page = await run.signIn(people.ana);
  const text = await mainText(page);
  expect(text).toContain('Tokens expiring');
  const soon = text.indexOf('700 tokens expire on 30 Jun 2027 — launch week');
  const later = text.indexOf('1,500 tokens expire on 31 Dec 2027 — hackathon <b>bonus</b>');
  expect(soon).toBeGreaterThan(-1);
  expect(later).toBeGreaterThan(soon);
  expect(text).not.toMatch(/9,000 tokens expire/);
  expect(await page.evaluate(() => document.querySelectorAll('main b').length)).toBe(0);
  await page.context().close();
});

it('someone whose tokens never expire sees no such section', async () => {
  const page = await run.signIn(people.ben);
  expect(await mainText(page)).not.toContain('Tokens expiring');
  await page.context().close();
});
