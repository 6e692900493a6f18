import { expect } from 'vitest';
import * as ledgerRepo from '../../../src/ledger/ledger.repository';
import { auditLedger, getBalances } from '../../../src/ledger/ledger.usecases';
import * as membersRepo from '../../../src/members/members.repository';
import type { SlackHarness, SlackWorkspace } from '../../support/app';
import { textOf, type WebApiCall } from '../../support/fake-slack';

/**
 * A workspace with an admin (a Slack workspace admin), a manager (Mia) holding `budget` tokens, her
 * reports Ana and Ben, a bot and a deactivated user — set up through the admin commands themselves.
 */
export async function setUpTeam(ws: SlackWorkspace, budget = '100k') {
  ws.user('UADMIN', { name: 'Ada', is_admin: true });
  ws.user('UMIA', { name: 'Mia' });
  ws.user('UANA', { name: 'Ana' });
  ws.user('UBEN', { name: 'Ben' });
  ws.user('UROBOT', { name: 'Robot', is_bot: true });
  ws.user('UGONE', { name: 'Gone', deleted: true });
  expect(textOf((await ws.command('UADMIN', '/tokens', 'role <@UMIA> manager')).reply)).toContain('is now a *manager*');
  expect(textOf((await ws.command('UADMIN', '/tokens', 'manager <@UANA> <@UMIA>')).reply)).toContain('now manages');
  expect(textOf((await ws.command('UADMIN', '/tokens', 'manager <@UBEN> <@UMIA>')).reply)).toContain('now manages');
  if (budget !== '0') {
    expect(textOf((await ws.command('UADMIN', '/tokens', `budget <@UMIA> ${budget} Q3`)).reply)).toContain('Added');
  }
}

export function ledgerOf(h: SlackHarness, ws: SlackWorkspace) {
  const orm = () => h.allot.deps.ctx.db.orm;
  const org = async () => {
    const found = await membersRepo.findOrganisationByWorkspace(orm(), 'slack', ws.teamId);
    if (!found) throw new Error(`no organisation for ${ws.teamId}`);
    return found;
  };
  const member = async (userId: string) => {
    const found = await membersRepo.findMemberByIdentity(orm(), (await org()).id, 'slack', ws.id(userId));
    if (!found) throw new Error(`no member for ${userId}`);
    return found;
  };
  return {
    org,
    member,
    async wallet(userId: string) {
      return (await getBalances(orm(), (await org()).id, (await member(userId)).id))!.wallet;
    },
    async budget(userId: string) {
      return (await getBalances(orm(), (await org()).id, (await member(userId)).id))!.budget;
    },
    async transfers() {
      return ledgerRepo.listTransfers(orm(), { orgId: (await org()).id, limit: 1000 });
    },
    async audit() {
      return auditLedger(h.allot.deps.ctx, { orgId: (await org()).id });
    },
  };
}

/** Every text the bot sent to Slack (Web API calls and response_url posts), for escaping checks. */
export function everythingSent(h: SlackHarness): string {
  return [
    ...h.slack.calls.map((call) => textOf(call.params)),
    ...h.slack.responses.map((post) => textOf(post.body)),
  ].join('\n');
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until Allot has no Slack work in flight (replies, DMs): its work queue is drained and the fake
 * has heard nothing new for `quietMs`. Waiting on the queue, not on a quiet interval alone, holds
 * however slowly a loaded machine runs the work.
 */
export async function settle(h: SlackHarness, quietMs = 100) {
  let count = -1;
  while (count !== h.slack.calls.length + h.slack.responses.length) {
    count = h.slack.calls.length + h.slack.responses.length;
    await h.allot.idle();
    await sleep(quietMs);
  }
}

/** The buttons of a posted message. */
// biome-ignore lint/suspicious/noExplicitAny: Block Kit JSON.
export const buttonsOf = (call: WebApiCall): any[] =>
  // biome-ignore lint/suspicious/noExplicitAny: Block Kit JSON.
  (call.params.blocks ?? []).filter((b: any) => b.type === 'actions').flatMap((b: any) => b.elements);

/** The approval DM posted to a channel for a request, with the button values and where it lives. */
export async function approvalDm(ws: SlackWorkspace, channel: string) {
  const call = await ws.harness.slack.waitFor(
    () => ws.callsOf('chat.postMessage').findLast((c) => c.params.channel === channel && buttonsOf(c).length > 0),
    10_000,
    `approval DM in ${channel}`,
  );
  const approve = buttonsOf(call).find((b) => b.action_id === 'request.approve');
  const deny = buttonsOf(call).find((b) => b.action_id === 'request.deny');
  return {
    call,
    requestId: String(approve.value),
    denyValue: String(deny.value),
    ts: String(call.answer!.ts),
    channel,
  };
}

export type ApprovalDm = Awaited<ReturnType<typeof approvalDm>>;

/** `user` presses Approve or Deny on the approval DM, with the value that button carries. */
export const press = (ws: SlackWorkspace, user: string, dm: ApprovalDm, button: 'approve' | 'deny') =>
  ws.click({
    user,
    actionId: `request.${button}`,
    value: button === 'approve' ? dm.requestId : dm.denyValue,
    channel: dm.channel,
    messageTs: dm.ts,
  });
