import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendExpiryReminders } from '../../../src/digest/expiry-reminders.usecases';
import { validUntilLabel } from '../../../src/lib/expiry.models';
import { type SlackHarness, SlackWorkspace, startSlackHarness } from '../../support/app';
import { textOf } from '../../support/fake-slack';
import { approvalDm, ledgerOf, settle, setUpTeam } from './team';

// Tokens that expire, as people in Slack type and see them: through the real Bolt receiver, signed
// requests, and the fake Slack Web API recording what Allot sent.

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness();
});
afterAll(async () => h?.stop());

const dmsTo = (ws: SlackWorkspace, channel: string) =>
  ws.callsOf('chat.postMessage').filter((call) => call.params.channel === channel);

/** `31 Dec 2026` for tokens typed to last `days` days from the harness's now, for someone in UTC. */
const inDays = (days: number) => {
  const now = h.clock.now();
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + days + 1));
  return validUntilLabel(end, 'UTC');
};

describe('typing an expiry', () => {
  it('a grant “for 30d” says until when in the reply and in the recipient’s DM, and /balance says what expires next', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    const { reply } = await ws.command('UMIA', '/grant-tokens', '<@UANA> 10k shipped the migration for 30d');
    expect(textOf(reply)).toContain(
      `You granted *10,000 tokens* to <@UANA>, valid until ${inDays(30)}: _shipped the migration_`,
    );
    await settle(h);
    expect(textOf(dmsTo(ws, 'DANA')[0]!.params)).toContain(
      `<@UMIA> granted you *10,000 tokens*, valid until ${inDays(30)}: _shipped the migration_`,
    );
    const balance = await ws.command('UANA', '/balance', '');
    expect(textOf(balance.reply)).toContain(`⏳ *10,000 tokens* expire on ${inDays(30)}`);
    // Mia's own balance: her budget never expires, and no line is shown for it.
    expect(textOf((await ws.command('UMIA', '/balance', '')).reply)).not.toContain('expire on');
    expect(await ledgerOf(h, ws).audit()).toEqual([]);
  });

  describe('an expiry that cannot be used is refused, says what to type instead, and moves nothing', () => {
    const cases: [string, string, RegExp][] = [
      [
        'in the past',
        '<@UANA> 1k thanks expires 2020-01-01',
        /That expiry \(1 Jan 2020\) has already passed.*expires \d{4}-\d\d-\d\d.*for 90d/,
      ],
      [
        'more than 5 years ahead',
        '<@UANA> 1k expires 2040-01-01',
        /more than 5 years ahead.*expires \d{4}-\d\d-\d\d.*for 365d/,
      ],
      ['no days', '<@UANA> 1k for 0d', /would expire at once.*at least 1d/],
      ['not a date', '<@UANA> 1k expires soon', /not a date I can read/],
      ['an impossible date', '<@UANA> 1k expires 2027-02-30', /February 2027 has 28 days/],
    ];
    it.each(cases)('%s', async (_name, text, expected) => {
      const ws = new SlackWorkspace(h);
      await setUpTeam(ws);
      const { reply } = await ws.command('UMIA', '/grant-tokens', text);
      expect(reply.response_type).toBe('ephemeral');
      expect(textOf(reply)).toMatch(expected);
      const ledger = ledgerOf(h, ws);
      expect(await ledger.wallet('UANA')).toBe(0n);
      expect(await ledger.budget('UMIA')).toBe(100_000n);
    });
  });

  it('an admin sets a default expiry; grants that name none then expire, and a member may not change it', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    expect(textOf((await ws.command('UADMIN', '/tokens', 'default-expiry')).reply)).toContain(
      'Tokens granted *never expire*',
    );
    const refused = await ws.command('UANA', '/tokens', 'default-expiry 30d');
    expect(textOf(refused.reply)).toContain('Only admins can set the default expiry');
    const set = await ws.command('UADMIN', '/tokens', 'default-expiry 45d');
    expect(textOf(set.reply)).toContain(
      'From now on, tokens granted, approved or added to budgets expire after *45 days* unless the command says otherwise',
    );
    const { reply } = await ws.command('UMIA', '/grant-tokens', '<@UBEN> 2k welcome');
    expect(textOf(reply)).toContain(`You granted *2,000 tokens* to <@UBEN>, valid until ${inDays(45)}: _welcome_`);
    const never = await ws.command('UMIA', '/grant-tokens', '<@UBEN> 1k lasting expires never');
    expect(textOf(never.reply)).toContain('You granted *1,000 tokens* to <@UBEN>: _lasting_');
  });

  it('a budget issue and an allowance rule take an expiry too', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws, '0');
    const budget = await ws.command('UADMIN', '/tokens', 'budget <@UMIA> 50k Q4 expires 2027-03-31');
    expect(textOf(budget.reply)).toContain("Added *50,000 tokens* to <@UMIA>'s budget, valid until 31 Mar 2027: _Q4_");
    await settle(h);
    expect(textOf(dmsTo(ws, 'DMIA').at(-1)!.params)).toContain('to your budget, valid until 31 Mar 2027');
    expect(textOf((await ws.command('UMIA', '/balance', '')).reply)).toContain(
      '⏳ *50,000 tokens* of the budget expire on 31 Mar 2027',
    );
    const allowance = await ws.command('UADMIN', '/tokens', 'allowance member 1k weekly for 10d');
    expect(textOf(allowance.reply)).toContain('its tokens expire 10 days after each period starts');
    const refused = await ws.command('UADMIN', '/tokens', 'allowance member 1k weekly rollover 500 for 10d');
    expect(textOf(refused.reply)).toContain('An allowance that expires carries nothing over');
  });

  it('/tokens approve with an expiry approves the request, edits the approval message and tells the requester until when', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    await ws.command('UANA', '/request-tokens', '5k eval runs');
    const dm = await approvalDm(ws, 'DMIA');
    const past = await ws.command('UMIA', '/tokens', `approve ${dm.requestId} expires 2020-01-01`);
    expect(textOf(past.reply)).toContain('has already passed');
    const { reply } = await ws.command('UMIA', '/tokens', `approve #${dm.requestId} for 14d`);
    expect(textOf(reply)).toContain(`Approved: <@UANA> received *5,000 tokens*, valid until ${inDays(14)}.`);
    await settle(h);
    expect(textOf(ws.callsOf('chat.update').find((c) => c.params.ts === dm.ts)!.params)).toContain(
      '*Approved* by <@UMIA>',
    );
    expect(textOf(dmsTo(ws, 'DANA').at(-1)!.params)).toContain(
      `Your request for *5,000 tokens* was *approved* by <@UMIA>, valid until ${inDays(14)}.`,
    );
    const again = await ws.command('UMIA', '/tokens', `approve ${dm.requestId} for 14d`);
    expect(textOf(again.reply)).toContain('already *approved*');
    expect(await ledgerOf(h, ws).wallet('UANA')).toBe(5_000n);
  });
});

describe('seeing it', () => {
  it('App Home shows what expires next, and the reminder arrives as a DM on its day', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    await ws.command('UMIA', '/grant-tokens', '<@UANA> 3k thanks for 8d');
    await settle(h);
    await ws.event({ type: 'app_home_opened', user: 'UANA', channel: 'DANA', tab: 'home' });
    const home = await h.slack.waitFor(
      () => ws.callsOf('views.publish').find((call) => call.params.user_id === 'UANA'),
      10_000,
      'Ana home',
    );
    expect(textOf(home.params.view)).toContain(`⏳ *3,000 tokens* expire on ${inDays(8)}`);
    // Seven days before the last day, from 09:00 UTC (Ana's zone): one reminder, however often swept.
    const now = h.clock.now();
    h.clock.set(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1, 9)));
    const before = dmsTo(ws, 'DANA').length;
    await sendExpiryReminders({ ...h.allot.deps, replicaId: 'test-a' });
    await sendExpiryReminders({ ...h.allot.deps, replicaId: 'test-b' });
    const reminders = dmsTo(ws, 'DANA').slice(before);
    expect(reminders.map((call) => textOf(call.params))).toEqual([
      expect.stringContaining(`⏳ *3,000 tokens* of your balance expire in 7 days, at the end of ${inDays(7)}.`),
    ]);
  });
});
