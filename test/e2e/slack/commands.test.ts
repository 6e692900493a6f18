import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as membersRepo from '../../../src/members/members.repository';
import {
  postSigned,
  type SlackHarness,
  SlackWorkspace,
  signingSecret,
  slackSignature,
  startSlackHarness,
} from '../../support/app';
import { textOf } from '../../support/fake-slack';
import { everythingSent, ledgerOf, settle, setUpTeam, sleep } from './team';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness({ ALLOT_ADMINS: 'slack:UCHIEF,boss@corp.example' });
});
afterAll(async () => h?.stop());

const dmsTo = (ws: SlackWorkspace, channel: string) =>
  ws.callsOf('chat.postMessage').filter((call) => call.params.channel === channel);

describe('/grant-tokens', () => {
  it('a manager grants two people 50 000 tokens (pasted with a no-break space): each gets a DM saying who, how much and why, and the manager sees what is left', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    const { ack, reply } = await ws.command(
      'UMIA',
      '/grant-tokens',
      '<@UANA> <@UBEN|ben> 50\u00a0000 shipped the migration',
    );
    expect(ack.status).toBe(200);
    expect(ack.text).toBe('');
    expect(ack.elapsedMs).toBeLessThan(3_000);
    expect(reply.response_type).toBe('ephemeral');
    expect(textOf(reply)).toContain('You granted *50,000 tokens* each to <@UANA> and <@UBEN>: _shipped the migration_');
    expect(textOf(reply)).toContain('Left in your budget: *0 tokens*');
    await settle(h);
    for (const user of ['UANA', 'UBEN']) {
      expect(ws.callsOf('conversations.open').some((call) => call.params.users === user)).toBe(true);
      const dms = dmsTo(ws, `D${user.slice(1)}`);
      expect(dms).toHaveLength(1);
      expect(textOf(dms[0]!.params)).toContain('<@UMIA> granted you *50,000 tokens*: _shipped the migration_');
      expect(dms[0]!.token).toBe('xoxb-test-token');
    }
    const ledger = ledgerOf(h, ws);
    expect(await ledger.wallet('UANA')).toBe(50_000n);
    expect(await ledger.wallet('UBEN')).toBe(50_000n);
    expect(await ledger.budget('UMIA')).toBe(0n);
    expect(await ledger.audit()).toEqual([]);
  });

  it('an admin grants from the treasury, and ALLOT_ADMINS makes admins by Slack id or by email', async () => {
    const ws = new SlackWorkspace(h, { fixedIds: ['UCHIEF'] });
    ws.user('UCHIEF', { name: 'Chief' });
    ws.user('UBOSS', { name: 'Boss', email: 'boss@corp.example' });
    ws.user('UANA', { name: 'Ana' });
    for (const admin of ['UCHIEF', 'UBOSS']) {
      const { reply } = await ws.command(admin, '/grant-tokens', '<@UANA> 1k welcome');
      expect(textOf(reply)).toContain('Granted from the treasury');
    }
    expect(await ledgerOf(h, ws).wallet('UANA')).toBe(2_000n);
    expect((await ledgerOf(h, ws).member('UBOSS')).role).toBe('admin');
  });

  describe('refusals are ephemeral, friendly, say what to do instead, and change nothing', () => {
    const cases: [string, string, string, RegExp][] = [
      ['not a manager', 'UANA', '<@UBEN> 10 thanks', /Only managers .* and admins can grant/],
      ['granting to yourself', 'UMIA', '<@UMIA> 10', /can't grant tokens to yourself.*\/request-tokens/],
      [
        'over budget',
        'UMIA',
        '<@UANA> <@UBEN> 60k',
        /needs \*120,000 tokens\* but your budget has \*100,000 tokens\*.*Nothing was moved/,
      ],
      ['a bad amount', 'UMIA', '<@UANA> -5', /negative.*50k/],
      ['a fractional amount', 'UMIA', '<@UANA> 1.5', /whole.*50k/],
      ['an unknown person', 'UMIA', '<@UNOBODY> 10', /couldn't look up someone/],
      ['a bot', 'UMIA', '<@UROBOT> 10', /bot.*cannot receive tokens/],
      ['a deactivated person', 'UMIA', '<@UGONE> 10', /deactivated.*cannot receive tokens/],
      ['nobody named', 'UMIA', '10 thanks', /Name at least one person.*\/grant-tokens @ana/s],
      ['a name typed as text', 'UMIA', '@ana 10', /Pick people from the @ list/],
    ];
    let ws: SlackWorkspace;
    beforeAll(async () => {
      ws = new SlackWorkspace(h);
      await setUpTeam(ws);
    });
    it.each(cases)('%s', async (_name, user, text, expected) => {
      const ledger = ledgerOf(h, ws);
      const transfersBefore = (await ledger.transfers()).length;
      await settle(h);
      const dmsBefore = ws.callsOf('chat.postMessage').length;
      const { reply } = await ws.command(user, '/grant-tokens', text);
      expect(reply.response_type).toBe('ephemeral');
      expect(textOf(reply)).toMatch(expected);
      await settle(h);
      expect((await ledger.transfers()).length).toBe(transfersBefore);
      expect(ws.callsOf('chat.postMessage').length).toBe(dmsBefore);
      expect(await ledger.wallet('UANA')).toBe(0n);
      expect(await ledger.budget('UMIA')).toBe(100_000n);
    });
  });

  it('a redelivered command (same trigger id) grants once and DMs once, and answers the same', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    const first = await ws.command('UMIA', '/grant-tokens', '<@UANA> 7k thanks');
    const second = await ws.command('UMIA', '/grant-tokens', '<@UANA> 7k thanks', { triggerId: first.triggerId });
    expect(textOf(second.reply)).toBe(textOf(first.reply));
    await settle(h);
    expect(await ledgerOf(h, ws).wallet('UANA')).toBe(7_000n);
    expect((await ledgerOf(h, ws).transfers()).filter((t) => t.code === 'grant')).toHaveLength(1);
    expect(dmsTo(ws, 'DANA').filter((call) => textOf(call.params).includes('7,000'))).toHaveLength(1);
  });

  it('hostile text is escaped everywhere: <!channel>, <!here> and a pasted mention ping nobody', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    const { reply } = await ws.command(
      'UMIA',
      '/grant-tokens',
      '<@UANA> 5 for <!channel> &amp; <!here|here> and <@UBEN> *bold* &lt;script&gt;',
    );
    await settle(h);
    const dm = dmsTo(ws, 'DANA').at(-1)!;
    for (const shown of [textOf(reply), textOf(dm.params)]) {
      expect(shown).toContain('&lt;!channel&gt;');
      expect(shown).toContain('&lt;!here|here&gt;');
      expect(shown).toContain('@UBEN');
      expect(shown).toContain('&lt;script&gt;');
      expect(shown).not.toContain('<@UBEN>');
    }
    expect(everythingSent(h)).not.toMatch(/<!(channel|here|everyone)/);
    // The reason is stored verbatim; only presentation escapes.
    const grant = (await ledgerOf(h, ws).transfers()).find((t) => t.code === 'grant')!;
    expect(ws.unmap(grant.memo)).toBe('for <!channel> & <!here|here> and @UBEN *bold* <script>');
  });
});

describe('/balance', () => {
  it('shows your own balance and recent grants; managers see their reports, admins anyone, others are refused', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    await ws.command('UMIA', '/grant-tokens', '<@UANA> 12k nice work');
    const own = textOf((await ws.command('UANA', '/balance', '')).reply);
    expect(own).toContain('*12,000 tokens*');
    expect(own).toMatch(/\+12,000\* grant from <@UMIA> — _nice work_/);
    expect(own).toContain('Usage this month');
    const byManager = textOf((await ws.command('UMIA', '/balance', '<@UANA>')).reply);
    // A header (plain text) with the name: looking at someone's balance does not mention them.
    expect(byManager).toContain('Tokens of Ana');
    expect(byManager).not.toContain('Tokens of *');
    expect(byManager).toContain('*12,000 tokens*');
    expect(textOf((await ws.command('UADMIN', '/balance', '<@UANA|ana>')).reply)).toContain('*12,000 tokens*');
    const refused = await ws.command('UBEN', '/balance', '<@UANA>');
    expect(textOf(refused.reply)).toMatch(/You can see your own balance/);
    const mia = textOf((await ws.command('UMIA', '/balance', '')).reply);
    expect(mia).toContain('Budget to grant');
    expect(mia).toContain('*88,000 tokens*');
    expect(textOf((await ws.command('UANA', '/balance', 'everyone please')).reply)).toContain('/balance @ana');
  });

  it('shows pending requests', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    await ws.command('UANA', '/request-tokens', '3k for evals');
    const own = textOf((await ws.command('UANA', '/balance', '')).reply);
    expect(own).toContain('Your requests waiting');
    expect(own).toMatch(/\*3,000 tokens\* \(for evals\) · pending/);
  });
});

describe('/leaderboard and /tokens', () => {
  it('/leaderboard answers for a week, month or quarter and refuses other windows with the usage', async () => {
    const ws = new SlackWorkspace(h);
    ws.user('UANA');
    expect(textOf((await ws.command('UANA', '/leaderboard', 'month')).reply)).toMatch(/month/i);
    expect(textOf((await ws.command('UANA', '/leaderboard', 'decade')).reply)).toContain('/leaderboard week');
  });

  it('/tokens help lists the commands; the admin part only for admins', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    const member = textOf((await ws.command('UANA', '/tokens', 'help')).reply);
    expect(member).toContain('/grant-tokens');
    expect(member).toContain('/request-tokens');
    expect(member).not.toContain('/tokens budget');
    expect(textOf((await ws.command('UADMIN', '/tokens', '')).reply)).toContain('/tokens budget @mia 500k');
    expect(textOf((await ws.command('UANA', '/tokens', 'dance')).reply)).toContain('/tokens help');
  });

  it('role, manager and budget are refused for non-admins and change nothing', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    const ledger = ledgerOf(h, ws);
    const before = (await ledger.transfers()).length;
    for (const text of ['role <@UANA> admin', 'manager <@UANA> <@UBEN>', 'budget <@UMIA> 1M']) {
      expect(textOf((await ws.command('UMIA', '/tokens', text)).reply)).toMatch(/Only admins can/);
    }
    expect((await ledger.member('UANA')).role).toBe('member');
    expect((await ledger.member('UANA')).managerId).toBe((await ledger.member('UMIA')).id);
    expect((await ledger.transfers()).length).toBe(before);
  });

  it('admin commands: role, manager (and none), budget, with friendly refusals', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    const ledger = ledgerOf(h, ws);
    expect(textOf((await ws.command('UADMIN', '/tokens', 'role <@UBEN> boss')).reply)).toContain(
      'admin|manager|member',
    );
    expect(textOf((await ws.command('UADMIN', '/tokens', 'manager <@UMIA> <@UANA>')).reply)).toMatch(
      /loop in the reporting line/,
    );
    expect(textOf((await ws.command('UADMIN', '/tokens', 'manager <@UANA> <@UANA>')).reply)).toMatch(/own manager/);
    expect(textOf((await ws.command('UADMIN', '/tokens', 'manager <@UBEN> none')).reply)).toContain(
      'has no manager now',
    );
    expect((await ledger.member('UBEN')).managerId).toBeNull();
    expect(textOf((await ws.command('UADMIN', '/tokens', 'budget <@UANA> 5k')).reply)).toMatch(
      /not a manager.*\/tokens role @them manager/s,
    );
    const added = await ws.command('UADMIN', '/tokens', 'budget <@UMIA> 2.5M big quarter');
    expect(textOf(added.reply)).toContain('Their budget is now *2,600,000 tokens*');
    await settle(h);
    expect(textOf(dmsTo(ws, 'DMIA').at(-1)!.params)).toContain(
      '<@UADMIN> added *2,500,000 tokens* to your budget: _big quarter_',
    );
    expect(textOf((await ws.command('UADMIN', '/tokens', 'role <@UANA> manager')).reply)).toContain(
      'is now a *manager*',
    );
  });

  it('demoting a manager who still holds a budget is refused, says how to return it, and changes nothing', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws, '40k');
    const ledger = ledgerOf(h, ws);
    const before = (await ledger.transfers()).length;
    const refused = textOf((await ws.command('UADMIN', '/tokens', 'role <@UMIA> member')).reply);
    const [org, mia] = [await ledger.org(), await ledger.member('UMIA')];
    expect(refused).toContain('<@UMIA> still holds *40,000 tokens* in their budget, which a member cannot spend');
    expect(refused).toContain(`\`allot role ${org.slug} ${mia.id} member --return-budget\` on the server`);
    expect((await ledger.member('UMIA')).role).toBe('manager');
    expect(await ledger.budget('UMIA')).toBe(40_000n);
    expect((await ledger.transfers()).length).toBe(before);
    // Spent down to zero, the budget no longer stands in the way.
    await ws.command('UMIA', '/grant-tokens', '<@UANA> 40k all of it');
    expect(textOf((await ws.command('UADMIN', '/tokens', 'role <@UMIA> member')).reply)).toContain('is now a *member*');
    expect(await ledger.audit()).toEqual([]);
  });
});

describe('the endpoint', () => {
  it('a forged signature and a stale timestamp get 401 and write nothing', async () => {
    const ws = new SlackWorkspace(h);
    ws.user('UMIA');
    const callsBefore = h.slack.calls.length;
    const { body, responsePath } = ws.commandBody({ user: 'UMIA', command: '/balance', text: '' });
    const forged = await postSigned(h.baseUrl, body, 'application/x-www-form-urlencoded', { secret: 'not-the-secret' });
    expect(forged.status).toBe(401);
    const stale = Math.floor(Date.now() / 1000) - 6 * 60;
    const old = await postSigned(h.baseUrl, body, 'application/x-www-form-urlencoded', {
      timestamp: stale,
      signature: slackSignature(signingSecret, stale, body),
    });
    expect(old.status).toBe(401);
    const tampered = await postSigned(
      h.baseUrl,
      body.replace('balance', 'grant-tokens'),
      'application/x-www-form-urlencoded',
      {
        signature: slackSignature(signingSecret, Math.floor(Date.now() / 1000), body),
      },
    );
    expect(tampered.status).toBe(401);
    await sleep(300);
    expect(h.slack.calls.length).toBe(callsBefore);
    expect(h.slack.responsesTo(responsePath)).toEqual([]);
    expect(await membersRepo.findOrganisationByWorkspace(h.allot.deps.ctx.db.orm, 'slack', ws.teamId)).toBeUndefined();
  });

  it('a command is acknowledged within 3 s while the database is busy, and answered once it is free', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    const db = h.allot.deps.ctx.db;
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const blocker = db.orm.transaction(async (tx) => {
      if (db.kind === 'postgres') await tx.execute(sql`lock table members, accounts in access exclusive mode`);
      else await tx.execute(sql`select 1`);
      locked();
      await held;
    });
    await isLocked;
    const { body, responsePath } = ws.commandBody({
      user: 'UMIA',
      command: '/grant-tokens',
      text: '<@UANA> 1k during a stall',
    });
    const ack = await postSigned(h.baseUrl, body, 'application/x-www-form-urlencoded');
    expect(ack.status).toBe(200);
    expect(ack.elapsedMs).toBeLessThan(3_000);
    await sleep(3_500);
    expect(h.slack.responsesTo(responsePath)).toEqual([]);
    release();
    await blocker;
    const reply = await ws.waitForResponse(responsePath);
    expect(textOf(reply.body)).toContain('You granted *1,000 tokens*');
  });
});

describe('/tokens usage settings', () => {
  it('admins set prices, weights and leaderboard options and create API keys; members may only opt out', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    const price = textOf((await ws.command('UADMIN', '/tokens', 'price gpt-4o 2.50 10')).reply);
    expect(price).toContain('gpt-4o');
    expect(price).toMatch(/2\.5/);
    expect(textOf((await ws.command('UADMIN', '/tokens', 'price')).reply)).toContain('gpt-4o');
    expect(textOf((await ws.command('UADMIN', '/tokens', 'weight review 1.5')).reply)).toMatch(/review/);
    expect(textOf((await ws.command('UADMIN', '/tokens', 'leaderboard top 5')).reply)).toContain('top 5');
    const key = textOf((await ws.command('UADMIN', '/tokens', 'apikey create ci-gateway')).reply);
    expect(key).toContain('ci-gateway');
    expect(textOf((await ws.command('UANA', '/tokens', 'price gpt-4o 1 1')).reply)).toContain(
      'Only admins can do that',
    );
    expect(textOf((await ws.command('UANA', '/tokens', 'leaderboard off')).reply)).toContain('Only admins can do that');
    expect(textOf((await ws.command('UANA', '/tokens', 'leaderboard opt-out')).reply)).toContain('no longer shown');
    expect((await ledgerOf(h, ws).member('UANA')).leaderboardOptOut).toBe(true);
    expect(textOf((await ws.command('UADMIN', '/tokens', 'weight review')).reply)).toContain(
      '/tokens weight review 1.5',
    );
  });
});
