import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepExpiredRequests } from '../../../src/chat/actions.usecases';
import { type SlackHarness, SlackWorkspace, startSlackHarness } from '../../support/app';
import { textOf } from '../../support/fake-slack';
import { approvalDm, buttonsOf, ledgerOf, press, settle, setUpTeam } from './team';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness();
});
afterAll(async () => h?.stop());

/** Submits, without a reason, the deny modal that pressing Deny opened for the request. */
async function submitDenyModal(ws: SlackWorkspace, user: string, dm: { requestId: string }) {
  const modal = await h.slack.waitFor(() =>
    ws.callsOf('views.open').find((c) => JSON.parse(c.params.view.private_metadata).requestId === dm.requestId),
  );
  await ws.submitView({
    user,
    callbackId: 'request.deny.modal',
    privateMetadata: modal.params.view.private_metadata,
    values: {},
  });
}

const updatesOf = (ws: SlackWorkspace, channel: string, ts: string) =>
  ws.callsOf('chat.update').filter((c) => c.params.channel === channel && c.params.ts === ts);
const dmsTo = (ws: SlackWorkspace, channel: string) =>
  ws.callsOf('chat.postMessage').filter((c) => c.params.channel === channel);

describe('request → decision', () => {
  it('a request goes to the manager with Approve and Deny; approving tops up once, edits the message in place and tells the requester', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    const { reply } = await ws.command('UANA', '/request-tokens', '20k eval runs');
    expect(textOf(reply)).toContain('Asked <@UMIA> for *20,000 tokens*: _eval runs_');
    expect(JSON.stringify(reply.blocks)).toContain('request.cancel');
    const dm = await approvalDm(ws, 'DMIA');
    expect(textOf(dm.call.params)).toContain('<@UANA> asks for *20,000 tokens*: _eval runs_');
    expect(dm.denyValue).toBe(dm.requestId);

    const click = await press(ws, 'UMIA', dm, 'approve');
    expect(click.status).toBe(200);
    expect(click.elapsedMs).toBeLessThan(3_000);
    const confirmation = await ws.waitForResponse(click.responsePath);
    expect(confirmation.body.response_type).toBe('ephemeral');
    expect(textOf(confirmation.body)).toContain('Approved: <@UANA> received *20,000 tokens*');
    expect(textOf(confirmation.body)).toContain('Left in your budget: *80,000 tokens*');
    await settle(h);
    const updates = updatesOf(ws, dm.channel, dm.ts);
    expect(updates).toHaveLength(1);
    expect(textOf(updates[0]!.params)).toContain('*Approved* by <@UMIA>');
    expect(buttonsOf(updates[0]!)).toEqual([]);
    expect(textOf(dmsTo(ws, 'DANA').at(-1)!.params)).toContain(
      'Your request for *20,000 tokens* was *approved* by <@UMIA>',
    );
    const ledger = ledgerOf(h, ws);
    expect(await ledger.wallet('UANA')).toBe(20_000n);
    expect(await ledger.budget('UMIA')).toBe(80_000n);
    expect((await ledger.transfers()).filter((t) => t.code === 'topup')).toHaveLength(1);
  });

  it('Deny opens a modal; its reason reaches the approval message and the requester, and nothing moves', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    await ws.command('UANA', '/request-tokens', '5k more evals');
    const dm = await approvalDm(ws, 'DMIA');
    const click = await press(ws, 'UMIA', dm, 'deny');
    expect(click.status).toBe(200);
    const opened = await h.slack.waitFor(() => ws.callsOf('views.open').at(-1), 5_000, 'views.open');
    expect(opened.params.trigger_id).toBeTruthy();
    expect(opened.params.view.callback_id).toBe('request.deny.modal');
    const submitted = await ws.submitView({
      user: 'UMIA',
      callbackId: 'request.deny.modal',
      privateMetadata: opened.params.view.private_metadata,
      values: { reason: { reason_input: { type: 'plain_text_input', value: 'not this quarter <!here>' } } },
    });
    expect(submitted.status).toBe(200);
    expect(submitted.elapsedMs).toBeLessThan(3_000);
    const update = await h.slack.waitFor(() => updatesOf(ws, dm.channel, dm.ts)[0], 10_000, 'chat.update');
    expect(textOf(update.params)).toContain('*Denied* by <@UMIA>: _not this quarter &lt;!here&gt;_');
    await settle(h);
    expect(textOf(dmsTo(ws, 'DANA').at(-1)!.params)).toContain(
      'was *denied* by <@UMIA>: _not this quarter &lt;!here&gt;_',
    );
    const note = ws.callsOf('chat.postEphemeral').at(-1)!;
    expect(note.params).toMatchObject({ channel: dm.channel, user: 'UMIA' });
    expect(textOf(note.params)).toContain('Denied: <@UANA> will not receive *5,000 tokens*');
    expect((await ledgerOf(h, ws).transfers()).filter((t) => t.code === 'topup')).toHaveLength(0);
    expect(await ledgerOf(h, ws).wallet('UANA')).toBe(0n);
  });

  it('an approval larger than the budget is refused with what is left, and the request stays open', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws, '1k');
    await ws.command('UANA', '/request-tokens', '5k');
    const dm = await approvalDm(ws, 'DMIA');
    const click = await press(ws, 'UMIA', dm, 'approve');
    expect(textOf((await ws.waitForResponse(click.responsePath)).body)).toMatch(
      /needs \*5,000 tokens\* but your budget has \*1,000 tokens\*/,
    );
    await settle(h);
    expect(updatesOf(ws, dm.channel, dm.ts)).toEqual([]);
    // Still open: pressing Approve again is judged again (not "already decided").
    const again = await press(ws, 'UMIA', dm, 'approve');
    expect(textOf((await ws.waitForResponse(again.responsePath)).body)).toMatch(
      /needs \*5,000 tokens\* but your budget has \*1,000 tokens\*/,
    );
    expect(await ledgerOf(h, ws).audit()).toEqual([]);
  });

  it('someone who is not the approver is told so and nothing changes', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    await ws.command('UANA', '/request-tokens', '5k');
    const dm = await approvalDm(ws, 'DMIA');
    const click = await press(ws, 'UBEN', dm, 'approve');
    expect(textOf((await ws.waitForResponse(click.responsePath)).body)).toContain("isn't yours to decide");
    expect(await ledgerOf(h, ws).wallet('UANA')).toBe(0n);
  });

  it('a redelivered /request-tokens (same trigger id) makes one request and asks the manager once', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    const first = await ws.command('UANA', '/request-tokens', '9k');
    await ws.command('UANA', '/request-tokens', '9k', { triggerId: first.triggerId });
    await settle(h);
    expect(dmsTo(ws, 'DMIA').filter((c) => buttonsOf(c).length > 0)).toHaveLength(1);
  });
});

describe('exactly one outcome', () => {
  it('a double click approves once, moves tokens once, and the second click is told who approved', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    await ws.command('UANA', '/request-tokens', '10k');
    const dm = await approvalDm(ws, 'DMIA');
    const clicks = await Promise.all([0, 1].map(() => press(ws, 'UMIA', dm, 'approve')));
    const answers = await Promise.all(clicks.map((c) => ws.waitForResponse(c.responsePath)));
    const texts = answers.map((a) => textOf(a.body));
    expect(texts.filter((t) => t.includes('Approved: <@UANA> received *10,000 tokens*'))).toHaveLength(1);
    expect(texts.filter((t) => t.includes('already *approved* by <@UMIA>'))).toHaveLength(1);
    await settle(h);
    expect(updatesOf(ws, dm.channel, dm.ts)).toHaveLength(1);
    expect(await ledgerOf(h, ws).wallet('UANA')).toBe(10_000n);
    expect((await ledgerOf(h, ws).transfers()).filter((t) => t.code === 'topup')).toHaveLength(1);
    expect(await ledgerOf(h, ws).audit()).toEqual([]);
  });

  it('two admins racing on a request with no manager: one outcome, one transfer, the other told who decided', async () => {
    const ws = new SlackWorkspace(h);
    ws.user('UADA', { name: 'Ada', is_admin: true });
    ws.user('UOWEN', { name: 'Owen', is_owner: true });
    ws.user('ULOU', { name: 'Lou' });
    await ws.command('UADA', '/balance', '');
    await ws.command('UOWEN', '/balance', '');
    await ws.command('ULOU', '/request-tokens', '4k');
    const ada = await approvalDm(ws, 'DADA');
    const owen = await approvalDm(ws, 'DOWEN');
    expect(owen.requestId).toBe(ada.requestId);
    const clicks = await Promise.all([
      press(ws, 'UADA', ada, 'approve'),
      press(ws, 'UOWEN', owen, 'deny'),
      press(ws, 'UOWEN', owen, 'approve'),
    ]);
    // The deny click opened a modal; submit it too, racing the two approvals.
    await submitDenyModal(ws, 'UOWEN', owen);
    await Promise.all([clicks[0], clicks[2]].map((c) => ws.waitForResponse(c!.responsePath)));
    await settle(h);
    const ledger = ledgerOf(h, ws);
    const topups = (await ledger.transfers()).filter((t) => t.code === 'topup');
    expect(topups.length).toBeLessThanOrEqual(1);
    expect(await ledger.wallet('ULOU')).toBe(BigInt(topups.length) * 4_000n);
    const finalAda = updatesOf(ws, ada.channel, ada.ts);
    const finalOwen = updatesOf(ws, owen.channel, owen.ts);
    expect(finalAda).toHaveLength(1);
    expect(finalOwen).toHaveLength(1);
    expect(textOf(finalAda[0]!.params)).toBe(textOf(finalOwen[0]!.params));
    let lateNotes = [
      ...h.slack.responses
        .filter((r) => clicks.some((c) => c.responsePath === r.path))
        .map((r) => textOf(ws.unmap(r.body))),
      ...ws.callsOf('chat.postEphemeral').map((c) => textOf(c.params)),
    ];
    lateNotes = lateNotes.filter((t) => /already \*(approved|denied)\* by <@U(ADA|OWEN)>/.test(t));
    expect(lateNotes).toHaveLength(2);
    expect(await ledger.audit()).toEqual([]);
  });

  it('approve after deny is refused and the approver is told it was denied', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    await ws.command('UANA', '/request-tokens', '1k');
    const dm = await approvalDm(ws, 'DMIA');
    await press(ws, 'UMIA', dm, 'deny');
    await submitDenyModal(ws, 'UMIA', dm);
    await h.slack.waitFor(() => updatesOf(ws, dm.channel, dm.ts)[0]);
    const late = await press(ws, 'UMIA', dm, 'approve');
    expect(textOf((await ws.waitForResponse(late.responsePath)).body)).toContain('already *denied* by <@UMIA>');
    expect(await ledgerOf(h, ws).wallet('UANA')).toBe(0n);
  });
});

describe('cancel and expiry', () => {
  it('the requester cancels from their confirmation; the approval message says so and a later approve is refused', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    const { reply } = await ws.command('UANA', '/request-tokens', '2k');
    const cancel = reply.blocks
      .flatMap((b: { elements?: { action_id: string; value: string }[] }) => b.elements ?? [])
      .find((e: { action_id: string }) => e.action_id === 'request.cancel');
    const dm = await approvalDm(ws, 'DMIA');
    expect(cancel.value).toBe(dm.requestId);
    const byOther = await ws.click({ user: 'UBEN', actionId: 'request.cancel', value: cancel.value });
    expect(textOf((await ws.waitForResponse(byOther.responsePath)).body)).toContain(
      'Only the person who asked can cancel',
    );
    const click = await ws.click({
      user: 'UANA',
      actionId: 'request.cancel',
      value: cancel.value,
      channel: 'C0GENERAL',
    });
    const answer = await ws.waitForResponse(click.responsePath);
    expect(answer.body.replace_original).toBe(true);
    expect(textOf(answer.body)).toContain('Cancelled your request for *2,000 tokens*');
    const update = await h.slack.waitFor(() => updatesOf(ws, dm.channel, dm.ts)[0]);
    expect(textOf(update.params)).toContain('*Cancelled* by the requester');
    const late = await press(ws, 'UMIA', dm, 'approve');
    expect(textOf((await ws.waitForResponse(late.responsePath)).body)).toContain('was *cancelled* by the requester');
    expect(await ledgerOf(h, ws).wallet('UANA')).toBe(0n);
  });

  it('a request nobody decides expires after 72 hours: the message and the requester are told, and a late click too', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    await ws.command('UANA', '/request-tokens', '3k');
    const dm = await approvalDm(ws, 'DMIA');
    h.clock.advanceMs(71 * 3_600_000);
    expect((await sweepExpiredRequests(h.allot.deps)).map((r) => r.id.toString())).not.toContain(dm.requestId);
    h.clock.advanceMs(2 * 3_600_000);
    const early = await press(ws, 'UMIA', dm, 'approve');
    expect(textOf((await ws.waitForResponse(early.responsePath)).body)).toContain('expired before anyone decided');
    const swept = await sweepExpiredRequests(h.allot.deps);
    expect(swept.map((r) => r.id.toString())).toContain(dm.requestId);
    expect(textOf(updatesOf(ws, dm.channel, dm.ts)[0]!.params)).toContain('*Expired* without a decision');
    expect(textOf(dmsTo(ws, 'DANA').at(-1)!.params)).toContain('Your request for *3,000 tokens* expired');
    const late = await press(ws, 'UMIA', dm, 'approve');
    expect(textOf((await ws.waitForResponse(late.responsePath)).body)).toContain('expired before anyone decided');
    expect(await ledgerOf(h, ws).wallet('UANA')).toBe(0n);
    h.clock.advanceMs(-73 * 3_600_000);
  });
});
