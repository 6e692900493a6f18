import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepExpiredRequests } from '../../../src/chat/actions.usecases';
import { listEnabledSchedules } from '../../../src/digest/digest.repository';
import { deliverDigest } from '../../../src/digest/digest.usecases';
import { getBalances } from '../../../src/ledger/ledger.usecases';
import { operatorActor } from '../../../src/lib/context';
import {
  findMemberByIdentity,
  findOrganisationByWorkspace,
  listIdentities,
} from '../../../src/members/members.repository';
import { setManager } from '../../../src/members/members.usecases';
import { linkWorkspace } from '../../../src/members/organisations.usecases';
import { SlackWorkspace } from '../../support/app';
import { textOf, type WebApiCall } from '../../support/fake-slack';
import {
  callsWithToken,
  type DistributionHarness,
  expectCommandUnanswered,
  install,
  installationRowCounts,
  installedWorkspace,
  startDistributionHarness,
} from './distribution';
import { approvalDm, ledgerOf, press, settle, setUpTeam } from './team';

let h: DistributionHarness;
beforeAll(async () => {
  h = await startDistributionHarness();
});
afterAll(async () => h?.stop());

/** Every Web API call made about a workspace's people or channels (its ids carry its suffix). */
const callsAbout = (ws: SlackWorkspace) =>
  h.slack.calls.filter((call) => JSON.stringify(call.params).includes(ws.suffix));

/** Whom or where a Web API call writes to or asks about (a channel, a DM's user, a looked-up user). */
const targetOf = (call: WebApiCall): string =>
  String(call.params.channel ?? call.params.users ?? call.params.user ?? call.params.user_id ?? '');

/** Slack telling Allot it was uninstalled from a workspace: app_uninstalled, then tokens_revoked. */
async function uninstall(ws: SlackWorkspace, token: string) {
  h.slack.revoke(token);
  expect((await ws.event({ type: 'app_uninstalled' })).status).toBe(200);
  expect((await ws.event({ type: 'tokens_revoked', tokens: { bot: ['UBOT'] } })).status).toBe(200);
  await settle(h);
}

describe('two workspaces, each with its own token', () => {
  it('commands, DMs, approvals, digests and reminders in each workspace use that workspace token, never the other', async () => {
    const a = await installedWorkspace(h, 'Alpha');
    const b = await installedWorkspace(h, 'Beta');
    const from = h.slack.calls.length;
    await setUpTeam(a.ws);
    await setUpTeam(b.ws);

    // A grant DMs the recipient; a request DMs the manager with buttons (approvals).
    for (const { ws } of [a, b]) {
      expect(textOf((await ws.command('UMIA', '/grant-tokens', '<@UANA> 5k thanks')).reply)).toContain('You granted');
      await ws.command('UANA', '/request-tokens', '7k evals');
      await approvalDm(ws, 'DMIA');
    }
    // The weekly digest, posted to a channel of B.
    const channel = `C0DIGEST${b.ws.suffix}`;
    await b.ws.command('UADMIN', '/tokens', `digest <#${channel}|digest> "0 9 * * MON" Europe/Berlin`);
    const orgB = await ledgerOf(h, b.ws).org();
    const [schedule] = await listEnabledSchedules(h.allot.deps.ctx.db.orm, orgB.id);
    const slot = new Date('2026-11-30T08:00:00Z');
    expect(
      await deliverDigest(
        { ...h.allot.deps, sleep: async () => {} },
        { orgId: orgB.id, scheduleId: schedule!.id, slot },
      ),
    ).toBe('sent');
    // Requests nobody decides expire: the approval message is edited and the requester told.
    h.clock.advanceMs(73 * 3_600_000);
    await sweepExpiredRequests(h.allot.deps);
    await settle(h);

    for (const [mine, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const calls = callsAbout(mine.ws).filter((call) => h.slack.calls.indexOf(call) >= from);
      const methods = new Set(calls.map((call) => call.method));
      for (const method of ['users.info', 'conversations.open', 'chat.postMessage', 'chat.update']) {
        expect(methods, method).toContain(method);
      }
      expect(calls.every((call) => call.token === mine.token)).toBe(true);
      expect(calls.some((call) => call.token === other.token)).toBe(false);
    }
    const digest = h.slack.callsOf('chat.postMessage').find((call) => call.params.channel === channel)!;
    expect(digest.token).toBe(b.token);
    expect(textOf(digest.params)).toContain('Allot weekly digest');
    const expiry = b.ws
      .callsOf('chat.postMessage')
      .filter((call) => call.params.channel === 'DANA')
      .at(-1)!;
    expect(textOf(expiry.params)).toContain('expired');
    expect(expiry.token).toBe(b.token);
  });
});

describe('one organisation across workspaces', () => {
  it('linked workspaces: each person is written to with the token of the workspace they are in', async () => {
    const a = await installedWorkspace(h, 'Linked A');
    const b = await installedWorkspace(h, 'Linked B');
    a.ws.user('UADA', { name: 'Ada', is_admin: true });
    a.ws.user('UMIA', { name: 'Mia' });
    b.ws.user('UANA', { name: 'Ana' });
    await a.ws.command('UADA', '/tokens', 'role <@UMIA> manager');
    await a.ws.command('UADA', '/tokens', 'budget <@UMIA> 10k Q1');
    const org = await ledgerOf(h, a.ws).org();
    expect(
      (await linkWorkspace(h.allot.deps.ctx, { orgId: org.id, platform: 'slack', externalId: b.ws.teamId })).ok,
    ).toBe(true);
    await b.ws.command('UANA', '/balance', '');
    const mia = await ledgerOf(h, a.ws).member('UMIA');
    const ana = await ledgerOf(h, b.ws).member('UANA');
    const managed = await setManager(h.allot.deps.ctx, {
      orgId: org.id,
      actor: operatorActor,
      memberId: ana.id,
      managerId: mia.id,
    });
    expect(managed.ok).toBe(true);

    // Ana (in B) asks; her manager Mia (in A) gets the buttons, with A's token.
    expect(textOf((await b.ws.command('UANA', '/request-tokens', '3k evals')).reply)).toContain('Asked');
    const dm = await approvalDm(a.ws, 'DMIA');
    expect(dm.call.token).toBe(a.token);
    await press(a.ws, 'UMIA', dm, 'approve');
    await settle(h);
    // The approval message is edited in A with A's token; Ana hears of it in B with B's token.
    // Waited for by what they are, not by the fake going quiet: on a loaded machine a decision's
    // transaction can outlast any quiet interval.
    const edit = await h.slack.waitFor(() => a.ws.callsOf('chat.update').find((call) => call.params.ts === dm.ts));
    expect(edit.token).toBe(a.token);
    const told = await h.slack.waitFor(() =>
      b.ws.callsOf('chat.postMessage').find((call) => textOf(call.params).includes('was *approved*')),
    );
    expect(told.token).toBe(b.token);
    // Messages mention people of both workspaces; where each call goes decides its token.
    for (const { ws, token } of [a, b]) {
      const calls = h.slack.calls.filter((call) => targetOf(call).includes(ws.suffix));
      expect(calls.length).toBeGreaterThan(2);
      expect(calls.every((call) => call.token === token)).toBe(true);
    }
    expect(await ledgerOf(h, b.ws).wallet('UANA')).toBe(3_000n);
  });

  it('Enterprise Grid: an org-wide install serves every workspace of the enterprise as one organisation, W… people the same in each', async () => {
    const enterpriseId = `E${randomBytes(4).toString('hex').toUpperCase()}`;
    const grid = await install(h, { enterpriseId, enterpriseName: 'Grid Corp', orgWide: true });
    const shared = `Q${randomBytes(3).toString('hex').toUpperCase()}Q`;
    const [east, west] = ['East', 'West'].map(
      () => new SlackWorkspace(h, { enterpriseId, orgInstall: true, suffix: shared }),
    ) as [SlackWorkspace, SlackWorkspace];
    east.user('WADA', { name: 'Ada', is_admin: true });
    east.user('WMIA', { name: 'Mia' });
    east.user('WANA', { name: 'Ana' });
    await east.command('WADA', '/tokens', 'role <@WMIA> manager');
    await east.command('WADA', '/tokens', 'budget <@WMIA> 10k Q1');
    const granted = await west.command('WMIA', '/grant-tokens', '<@WANA> 2k from the west office');
    expect(textOf(granted.reply)).toContain('You granted *2,000 tokens*');
    expect(textOf((await east.command('WANA', '/balance', '')).reply)).toContain('2,000');
    await settle(h);

    const orm = h.allot.deps.ctx.db.orm;
    const gridOrg = await findOrganisationByWorkspace(orm, 'slack', enterpriseId);
    expect(gridOrg).toBeDefined();
    for (const ws of [east, west]) expect(await findOrganisationByWorkspace(orm, 'slack', ws.teamId)).toBeUndefined();
    const ana = await findMemberByIdentity(orm, gridOrg!.id, 'slack', east.id('WANA'));
    expect((await getBalances(orm, gridOrg!.id, ana!.id))!.wallet).toBe(2_000n);
    const notice = east.callsOf('chat.postMessage').find((call) => call.params.channel === 'DWANA')!;
    expect(textOf(notice.params)).toContain('granted you *2,000 tokens*');
    expect(callsAbout(east).length).toBeGreaterThan(4);
    expect(callsAbout(east).every((call) => call.token === grid.token)).toBe(true);
  });
});

describe('uninstalling', () => {
  it('uninstalling A deletes its token at once: no call uses it again, A is not answered, its ledger stays, and B keeps working', async () => {
    const a = await installedWorkspace(h, 'Leaving');
    const b = await installedWorkspace(h, 'Staying');
    for (const { ws } of [a, b]) await setUpTeam(ws);
    await a.ws.command('UMIA', '/grant-tokens', '<@UANA> 4k before leaving');
    await a.ws.command('UANA', '/request-tokens', '9k still open');
    await approvalDm(a.ws, 'DMIA');
    await settle(h);
    const anaWallet = await ledgerOf(h, a.ws).wallet('UANA');
    const beforeRows = await installationRowCounts(h);

    await uninstall(a.ws, a.token);
    const uninstalledAt = h.slack.calls.length;
    expect((await installationRowCounts(h)).installations).toBe(beforeRows.installations - 1);

    // A command typed in A gets no answer (Allot is not installed there) and makes no call.
    await expectCommandUnanswered(a.ws);
    // Proactive sends to A's people: a grant notice from the CLI's verbs, and the open request expiring.
    const orgA = await ledgerOf(h, a.ws).org();
    const ana = await ledgerOf(h, a.ws).member('UANA');
    const notice = await h.allot.deps.notifier.notifyMember({
      orgId: orgA.id,
      memberId: ana.id,
      message: { summary: 'hello', blocks: [] },
    });
    expect(notice).toEqual({ ok: false, reason: 'unreachable', detail: 'not_installed' });
    h.clock.advanceMs(73 * 3_600_000);
    await sweepExpiredRequests(h.allot.deps);
    // B goes on as before, with its own token.
    expect(textOf((await b.ws.command('UMIA', '/grant-tokens', '<@UBEN> 1k still here')).reply)).toContain(
      'You granted',
    );
    await settle(h);

    expect(callsWithToken(h, a.token, uninstalledAt)).toEqual([]);
    expect(callsAbout(a.ws).filter((call) => h.slack.calls.indexOf(call) >= uninstalledAt)).toEqual([]);
    expect(b.ws.callsOf('chat.postMessage').at(-1)!.token).toBe(b.token);
    // The organisation and its ledger are untouched.
    expect(await ledgerOf(h, a.ws).wallet('UANA')).toBe(anaWallet);
    expect(await ledgerOf(h, a.ws).audit()).toEqual([]);
  });

  it('a reinstall resumes the organisation: the same balances, answered with the new token', async () => {
    const a = await installedWorkspace(h, 'Returning');
    await setUpTeam(a.ws);
    await a.ws.command('UMIA', '/grant-tokens', '<@UANA> 6k welcome');
    const orgBefore = await ledgerOf(h, a.ws).org();
    await uninstall(a.ws, a.token);

    const again = await install(h, { teamId: a.ws.teamId, teamName: 'Returning' });
    expect(again.token).not.toBe(a.token);
    const { reply } = await a.ws.command('UANA', '/balance', '');
    expect(textOf(reply)).toContain('6,000');
    expect((await ledgerOf(h, a.ws).org()).id).toBe(orgBefore.id);
    await a.ws.command('UMIA', '/grant-tokens', '<@UANA> 1k back');
    await settle(h);
    const dm = a.ws.callsOf('chat.postMessage').at(-1)!;
    expect(dm.token).toBe(again.token);
    expect(await ledgerOf(h, a.ws).wallet('UANA')).toBe(7_000n);
  });

  it("when one of an organisation's workspaces is removed, its admins are told in the workspace where they can still be reached", async () => {
    const first = await installedWorkspace(h, 'Head office');
    const second = await installedWorkspace(h, 'Branch');
    // Ada administers both workspaces, under one email: linked, they are one organisation and she one member.
    for (const { ws } of [first, second]) ws.user('UADA', { name: 'Ada', is_admin: true, email: 'ada@linked.example' });
    await first.ws.command('UADA', '/balance', '');
    const org = await ledgerOf(h, first.ws).org();
    const linked = await linkWorkspace(h.allot.deps.ctx, {
      orgId: org.id,
      platform: 'slack',
      externalId: second.ws.teamId,
      actor: operatorActor,
    });
    expect(linked.ok).toBe(true);
    await second.ws.command('UADA', '/balance', '');
    const ada = await ledgerOf(h, first.ws).member('UADA');
    expect((await ledgerOf(h, second.ws).member('UADA')).id).toBe(ada.id);
    expect(await listIdentities(h.allot.deps.ctx.db.orm, org.id, ada.id)).toHaveLength(2);

    const beforeRemoval = h.slack.calls.length;
    await uninstall(first.ws, first.token);
    const told = await h.slack.waitFor(() =>
      second.ws
        .callsOf('chat.postMessage')
        .find((call) => textOf(call.params).includes('Allot was removed from a Slack workspace')),
    );
    expect(told.token).toBe(second.token);
    expect(textOf(told.params)).toContain('Head office');
    expect(textOf(told.params)).toContain('/slack/install');
    // A second notice of the same removal (tokens_revoked after app_uninstalled) tells nobody again.
    expect(
      second.ws.callsOf('chat.postMessage').filter((call) => textOf(call.params).includes('Allot was removed')),
    ).toHaveLength(1);
    // Her identity in the removed workspace was tried first, without a call: it has no token any more.
    expect(callsWithToken(h, first.token, beforeRemoval)).toEqual([]);
  });
});
