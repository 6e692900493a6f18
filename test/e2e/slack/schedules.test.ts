import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listLiveRules } from '../../../src/allowances/allowances.repository';
import { listEnabledSchedules } from '../../../src/digest/digest.repository';
import { deliverDigest } from '../../../src/digest/digest.usecases';
import { type SlackHarness, SlackWorkspace, startSlackHarness } from '../../support/app';
import { textOf } from '../../support/fake-slack';
import { ledgerOf, settle, setUpTeam } from './team';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness();
});
afterAll(async () => h?.stop());

describe('/tokens digest', () => {
  it('an admin schedules the weekly digest for a channel, and it is posted there through the Web API', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    // Workspaces share the fake Slack: a channel id of this test's own.
    const channel = `C0DIGEST${ws.suffix}`;
    const { reply } = await ws.command('UADMIN', '/tokens', `digest <#${channel}|digest> “0 9 * * MON” Europe/Berlin`);
    expect(reply.response_type).toBe('ephemeral');
    expect(textOf(reply)).toContain('The weekly digest will be posted to <#C0DIGEST>');
    const org = await ledgerOf(h, ws).org();
    const [schedule] = await listEnabledSchedules(h.allot.deps.ctx.db.orm, org.id);
    expect(schedule).toMatchObject({
      cron: '0 9 * * MON',
      timeZone: 'Europe/Berlin',
      destination: { channelId: channel },
    });

    const outcome = await deliverDigest(
      { ...h.allot.deps, sleep: async () => {} },
      { orgId: org.id, scheduleId: schedule!.id, slot: new Date('2026-11-30T08:00:00Z') },
    );
    expect(outcome).toBe('sent');
    const posts = h.slack.callsOf('chat.postMessage').filter((call) => call.params.channel === channel);
    expect(posts).toHaveLength(1);
    expect(textOf(posts[0]!.params)).toContain('Allot weekly digest');

    const listed = await ws.command('UADMIN', '/tokens', 'digest');
    expect(textOf(listed.reply)).toContain('<#C0DIGEST>');
    const off = await ws.command('UADMIN', '/tokens', `digest off <#${channel}|digest>`);
    expect(textOf(off.reply)).toContain('Digest off for 1 destination');
    expect(await listEnabledSchedules(h.allot.deps.ctx.db.orm, org.id)).toEqual([]);
  });

  it('typed without a channel, the digest goes to the channel the command was typed in', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    const { reply } = await ws.command('UADMIN', '/tokens', 'digest "30 8 * * FRI" America/New_York');
    expect(textOf(reply)).toContain('<#C0GENERAL>');
  });

  it('a bad schedule or time zone is refused with an example, and members cannot schedule at all', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    const badCron = await ws.command('UADMIN', '/tokens', 'digest <#C0DIGEST|digest> "0 25 * * MON" Europe/Berlin');
    expect(textOf(badCron.reply)).toContain('hour');
    expect(textOf(badCron.reply)).toContain('"0 9 * * MON" Europe/Berlin');
    const badZone = await ws.command('UADMIN', '/tokens', 'digest <#C0DIGEST|digest> "0 9 * * MON" Mars/Olympus');
    expect(textOf(badZone.reply)).toContain('not a time zone I know');
    const member = await ws.command('UANA', '/tokens', 'digest <#C0DIGEST|digest> "0 9 * * MON" Europe/Berlin');
    expect(textOf(member.reply)).toContain('Only admins can schedule the digest');
    const org = await ledgerOf(h, ws).org();
    expect(await listEnabledSchedules(h.allot.deps.ctx.db.orm, org.id)).toEqual([]);
  });

  it('the preview shows the digest to the asker only', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    const before = ws.callsOf('chat.postMessage').length;
    const { reply } = await ws.command('UANA', '/tokens', 'digest preview');
    expect(reply.response_type).toBe('ephemeral');
    expect(textOf(reply)).toContain('Preview: only you see this.');
    expect(textOf(reply)).toContain('Allot weekly digest');
    await settle(h);
    expect(ws.callsOf('chat.postMessage')).toHaveLength(before);
  });
});

describe('/tokens allowance', () => {
  it('an admin gives every member a weekly allowance; it arrives once and /balance shows the next one', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    const { reply } = await ws.command('UADMIN', '/tokens', 'allowance members 10k weekly rollover 2k');
    expect(textOf(reply)).toContain('every member will get 10,000 tokens weekly');
    const ledger = ledgerOf(h, ws);
    const org = await ledger.org();
    expect(await listLiveRules(h.allot.deps.ctx.db.orm, org.id)).toHaveLength(1);

    const { issueDueAllowances } = await import('../../../src/allowances/allowances.usecases');
    await issueDueAllowances(h.allot.deps.ctx, { orgId: org.id });
    await issueDueAllowances(h.allot.deps.ctx, { orgId: org.id });
    expect(await ledger.wallet('UANA')).toBe(10_000n);
    const balance = await ws.command('UANA', '/balance', '');
    expect(textOf(balance.reply)).toContain('Next allowance: 10,000 tokens on Mon');

    const refused = await ws.command('UANA', '/tokens', 'allowance members 1M weekly');
    expect(textOf(refused.reply)).toContain('Only admins can set allowances');
    const bad = await ws.command('UADMIN', '/tokens', 'allowance members 10k daily');
    expect(textOf(bad.reply)).toContain('weekly or monthly');
    const off = await ws.command('UADMIN', '/tokens', 'allowance off members');
    expect(textOf(off.reply)).toContain('No more allowance for every member');
    expect(await ledger.audit()).toEqual([]);
  });
});

describe('user_change events', () => {
  it('a person deactivated in Slack after Allot met them can no longer receive grants; a promoted one becomes admin', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    const ledger = ledgerOf(h, ws);
    const change = (user: Record<string, unknown>) =>
      ws.event({ type: 'user_change', user: { ...user, id: ws.id(String(user.id)) } });
    expect((await change({ id: 'UANA', name: 'ana', deleted: true, profile: { display_name: 'Ana' } })).status).toBe(
      200,
    );
    await settle(h);
    const refused = await ws.command('UMIA', '/grant-tokens', '<@UANA> 1k welcome back');
    expect(textOf(refused.reply)).toMatch(/deactivated|no longer/i);
    expect(await ledger.wallet('UANA')).toBe(0n);

    await change({ id: 'UBEN', name: 'ben', is_admin: true, profile: { display_name: 'Ben' } });
    await settle(h);
    expect((await ledger.member('UBEN')).role).toBe('admin');
    // Someone Allot never met is not created by a profile change.
    await change({ id: 'UNEW', name: 'new', profile: { display_name: 'New' } });
    await settle(h);
    await expect(ledger.member('UNEW')).rejects.toThrow('no member');
  });
});

describe('GET /metrics', () => {
  it('counts chat commands by platform, command and outcome', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    await ws.command('UANA', '/tokens', 'role <@UBEN> admin');
    const text = await (await fetch(`${h.baseUrl}/metrics`)).text();
    expect(text).toMatch(/allot_chat_commands_total\{platform="slack",command="tokens",outcome="ok"\} [1-9]/);
    expect(text).toMatch(/allot_chat_commands_total\{platform="slack",command="tokens",outcome="not_an_admin"\} [1-9]/);
  });
});
