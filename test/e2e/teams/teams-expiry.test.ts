import { afterAll, beforeAll, expect, it } from 'vitest';
import { listRequestsByRequester } from '../../../src/approvals/approvals.repository';
import { sendExpiryReminders } from '../../../src/digest/expiry-reminders.usecases';
import { auditLedger } from '../../../src/ledger/ledger.usecases';
import { validUntilLabel } from '../../../src/lib/expiry.models';
import { setUpTeamsTeam } from './team';
import { cardText, startTeamsHarness, type TeamsHarness } from './teams-harness';

// Tokens that expire, as people in Teams type and see them: activities to the real botbuilder
// endpoint, replies and notices captured by the fake Bot Connector.

const adminEmail = 'ada.admin@contoso.example';
let harness: TeamsHarness;
beforeAll(async () => {
  harness = await startTeamsHarness({ env: { ALLOT_ADMINS: adminEmail } });
});
afterAll(async () => harness?.close());

/** `31 Dec 2026` for tokens typed to last `days` days from the harness's now, for someone in UTC. */
const inDays = (days: number) => {
  const now = harness.clock.now();
  return validUntilLabel(
    new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + days + 1)),
    'UTC',
  );
};

it('a grant typed “for 30d” says until when to both people, and the balance card says what expires next', async () => {
  const { mia, ana, say, balances, proactiveTo, org } = await setUpTeamsTeam(harness, adminEmail);
  const mark = harness.connector.sentActivities().length;
  const { reply } = await say(mia, 'grant-tokens <at>Ana Lopez</at> 10k shipped it for 30d', { mentions: [ana] });
  expect(cardText(reply)).toContain(`You granted 10,000 tokens to Ana Lopez, valid until ${inDays(30)}`);
  const notice = proactiveTo(ana, mark);
  expect(notice).toHaveLength(1);
  expect(cardText(notice[0]!.activity)).toContain(`Mia Manager granted you 10,000 tokens, valid until ${inDays(30)}`);
  const balance = await say(ana, 'balance');
  expect(cardText(balance.reply)).toContain(`10,000 tokens`);
  expect(cardText(balance.reply)).toContain(`expire on ${inDays(30)}`);
  expect((await balances(ana)).wallet).toBe(10_000n);
  expect(await auditLedger(harness.allot.deps.ctx, { orgId: org.id })).toEqual([]);
});

it('an expiry in the past, too far ahead or unreadable is refused with what to type, and moves nothing', async () => {
  const { mia, ana, say, balances } = await setUpTeamsTeam(harness, adminEmail);
  const past = await say(mia, 'grant-tokens <at>Ana Lopez</at> 1k thanks expires 2020-01-01', { mentions: [ana] });
  expect(cardText(past.reply)).toMatch(/That expiry \(1 Jan 2020\) has already passed.*for 90d/s);
  const far = await say(mia, '/grant-tokens <at>Ana Lopez</at> 1k expires 2040-01-01', { mentions: [ana] });
  expect(cardText(far.reply)).toMatch(/more than 5 years ahead/);
  const junk = await say(mia, 'grant-tokens <at>Ana Lopez</at> 1k for 1.5d', { mentions: [ana] });
  expect(cardText(junk.reply)).toMatch(/not a number of days.*90d/s);
  expect((await balances(ana)).wallet).toBe(0n);
  expect((await balances(mia)).budget).toBe(100_000n);
});

it('the admin’s default expiry and “tokens approve … for 14d” work the same as in Slack', async () => {
  const { ada, mia, ana, say, org, memberOf, proactiveTo } = await setUpTeamsTeam(harness, adminEmail);
  const set = await say(ada, 'tokens default-expiry 60d');
  expect(cardText(set.reply)).toContain('expire after 60 days');
  const grant = await say(mia, 'grant-tokens <at>Ana Lopez</at> 2k welcome', { mentions: [ana] });
  expect(cardText(grant.reply)).toContain(`valid until ${inDays(60)}`);
  await say(ana, 'request-tokens 5k evals');
  const [request] = await listRequestsByRequester(harness.allot.deps.ctx.db.orm, {
    orgId: org.id,
    requesterId: (await memberOf(ana)).id,
    limit: 1,
  });
  const mark = harness.connector.sentActivities().length;
  const approved = await say(mia, `tokens approve ${request!.id} for 14d`);
  expect(cardText(approved.reply)).toContain(`Approved: Ana Lopez received 5,000 tokens, valid until ${inDays(14)}`);
  expect(cardText(proactiveTo(ana, mark).at(-1)!.activity)).toContain(
    `Your request for 5,000 tokens was approved by Mia Manager, valid until ${inDays(14)}`,
  );
});

it('the reminder reaches the member’s personal chat once, whichever replica sweeps', async () => {
  const { mia, ana, say, proactiveTo } = await setUpTeamsTeam(harness, adminEmail);
  await say(mia, 'grant-tokens <at>Ana Lopez</at> 4k thanks for 1d', { mentions: [ana] });
  const mark = harness.connector.sentActivities().length;
  const now = harness.clock.now();
  // The day before the last day (today, for 1d), from 09:00 in Ana's zone (UTC).
  harness.clock.set(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 9)));
  await Promise.all(['x', 'y'].map((replicaId) => sendExpiryReminders({ ...harness.allot.deps, replicaId })));
  harness.clock.set(now);
  const reminders = proactiveTo(ana, mark).filter((sent) => cardText(sent.activity).includes('expire'));
  expect(reminders).toHaveLength(1);
  expect(cardText(reminders[0]!.activity)).toContain(
    `4,000 tokens of your balance expire at the end of tomorrow (${inDays(1)})`,
  );
});
