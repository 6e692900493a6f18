import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postSigned, type SlackHarness, SlackWorkspace, startSlackHarness } from '../../support/app';
import { textOf, type WebApiCall } from '../../support/fake-slack';
import { ledgerOf, settle, setUpTeam } from './team';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness();
});
afterAll(async () => h?.stop());

// biome-ignore lint/suspicious/noExplicitAny: Block Kit JSON.
const buttonsOf = (blocks: any[] = []): any[] => blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements);
const publishesFor = (ws: SlackWorkspace, user: string) =>
  ws.callsOf('views.publish').filter((call) => call.params.user_id === user);

describe('App Home', () => {
  it('shows balance, recent transfers and own requests; a manager sees the team’s pending requests and can approve from there', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    await ws.command('UMIA', '/grant-tokens', '<@UANA> 2k welcome');
    await ws.command('UANA', '/request-tokens', '6k fine-tuning');
    await settle(h);

    expect((await ws.event({ type: 'app_home_opened', user: 'UANA', channel: 'DANA', tab: 'home' })).status).toBe(200);
    const anaHome = await h.slack.waitFor(() => publishesFor(ws, 'UANA')[0], 10_000, 'Ana home');
    expect(anaHome.params.view.type).toBe('home');
    const anaText = textOf(anaHome.params.view);
    expect(anaText).toContain('*2,000 tokens*');
    expect(anaText).toContain('Usage this month');
    expect(anaText).toMatch(/\+2,000\* grant from <@UMIA> — _welcome_/);
    expect(anaText).toMatch(/\*6,000 tokens\* \(fine-tuning\) · pending/);
    const cancel = buttonsOf(anaHome.params.view.blocks).find((b) => b.action_id === 'request.cancel');
    expect(cancel).toBeDefined();
    expect(anaText).not.toContain('Waiting for your decision');

    await ws.event({ type: 'app_home_opened', user: 'UMIA', channel: 'DMIA', tab: 'home' });
    const miaHome = await h.slack.waitFor(() => publishesFor(ws, 'UMIA')[0], 10_000, 'Mia home');
    const miaText = textOf(miaHome.params.view);
    expect(miaText).toContain('Budget to grant');
    expect(miaText).toContain('Waiting for your decision');
    expect(miaText).toContain('<@UANA> asks for *6,000 tokens*: _fine-tuning_');
    const approve = buttonsOf(miaHome.params.view.blocks).find((b) => b.action_id === 'request.approve');
    expect(approve.value).toBe(cancel.value);

    const click = await ws.click({ user: 'UMIA', actionId: 'request.approve', value: approve.value, fromHome: true });
    expect(click.status).toBe(200);
    const refreshed = await h.slack.waitFor(() => publishesFor(ws, 'UMIA')[1], 10_000, 'Mia home refreshed');
    expect(textOf(refreshed.params.view)).toContain('No requests are waiting for you');
    await settle(h);
    const approvalDm = ws
      .callsOf('chat.postMessage')
      .find((c) => c.params.channel === 'DMIA' && buttonsOf(c.params.blocks).length > 0)!;
    const update = ws.callsOf('chat.update').find((c) => c.params.ts === approvalDm.answer!.ts)!;
    expect(textOf(update.params)).toContain('*Approved* by <@UMIA>');
    const note = ws.callsOf('chat.postMessage').find((c) => c.params.channel === 'UMIA')!;
    expect(textOf(note.params)).toContain('Approved: <@UANA> received *6,000 tokens*');
    expect(await ledgerOf(h, ws).wallet('UANA')).toBe(8_000n);
  });

  it('a retried app_home_opened event (x-slack-retry-num) is acknowledged but publishes once', async () => {
    const ws = new SlackWorkspace(h);
    ws.user('UANA');
    const event = { type: 'app_home_opened', user: 'UANA', channel: 'DANA', tab: 'home' };
    expect((await ws.event(event, { eventId: 'Ev0RETRY1' })).status).toBe(200);
    await h.slack.waitFor(() => publishesFor(ws, 'UANA')[0]);
    const retry = await ws.event(event, { eventId: 'Ev0RETRY1', retryNum: 1 });
    expect(retry.status).toBe(200);
    await settle(h);
    expect(publishesFor(ws, 'UANA')).toHaveLength(1);
    await ws.event(event, { eventId: 'Ev0RETRY2' });
    await h.slack.waitFor(() => publishesFor(ws, 'UANA')[1]);
  });

  it('answers Slack’s url_verification challenge', async () => {
    const body = JSON.stringify({ type: 'url_verification', token: 't', challenge: 'c-123' });
    const answer = await postSigned(h.baseUrl, body, 'application/json');
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('c-123');
  });
});

describe('Web API failures', () => {
  it('a 429 with Retry-After is waited out and retried: the DM arrives once and the grant happened once', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    await settle(h);
    h.slack.inject('chat.postMessage', { status: 429, retryAfterS: 1 });
    const { reply } = await ws.command('UMIA', '/grant-tokens', '<@UANA> 3k rate limited');
    expect(textOf(reply)).not.toContain('could not message');
    const attempts = ws.callsOf('chat.postMessage').filter((c: WebApiCall) => c.params.channel === 'DANA');
    expect(attempts.map((c) => c.answer?.ok)).toEqual([false, true]);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(1_000);
    expect(await ledgerOf(h, ws).wallet('UANA')).toBe(3_000n);
    expect((await ledgerOf(h, ws).transfers()).filter((t) => t.code === 'grant')).toHaveLength(1);
  });

  it('a recipient who cannot be messaged (channel_not_found) still gets the tokens, and the granter is told', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    await settle(h);
    h.slack.inject('conversations.open', { error: 'channel_not_found' });
    const first = await ws.command('UMIA', '/grant-tokens', '<@UANA> 4k thanks');
    expect(textOf(first.reply)).toContain('You granted *4,000 tokens* to <@UANA>');
    expect(textOf(first.reply)).toContain('I could not message <@UANA> (they may have left or blocked the app)');
    expect(await ledgerOf(h, ws).wallet('UANA')).toBe(4_000n);
    // Slack redelivering the same command neither grants again nor retries the failed message.
    await ws.command('UMIA', '/grant-tokens', '<@UANA> 4k thanks', { triggerId: first.triggerId });
    expect(await ledgerOf(h, ws).wallet('UANA')).toBe(4_000n);
    expect(await ledgerOf(h, ws).audit()).toEqual([]);
  });

  it('an ok:false answer from chat.postMessage is reported to the granter, and the ledger change stands', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    await settle(h);
    h.slack.inject('chat.postMessage', { error: 'fatal_error' });
    const { reply } = await ws.command('UMIA', '/grant-tokens', '<@UBEN> 1k');
    expect(textOf(reply)).toContain('I could not message <@UBEN> (the chat service refused)');
    expect(await ledgerOf(h, ws).wallet('UBEN')).toBe(1_000n);
  });

  it('a failed edit of the approval message does not undo or repeat the approval', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    await ws.command('UANA', '/request-tokens', '2k');
    await settle(h);
    const dm = ws
      .callsOf('chat.postMessage')
      .find((c) => c.params.channel === 'DMIA' && buttonsOf(c.params.blocks).length > 0)!;
    const requestId = buttonsOf(dm.params.blocks)[0].value;
    h.slack.inject('chat.update', { error: 'message_not_found' });
    const click = await ws.click({
      user: 'UMIA',
      actionId: 'request.approve',
      value: requestId,
      channel: 'DMIA',
      messageTs: dm.answer!.ts,
    });
    expect(textOf((await ws.waitForResponse(click.responsePath)).body)).toContain(
      'Approved: <@UANA> received *2,000 tokens*',
    );
    await settle(h);
    expect(
      textOf(
        ws
          .callsOf('chat.postMessage')
          .filter((c) => c.params.channel === 'DANA')
          .at(-1)!.params,
      ),
    ).toContain('was *approved*');
    const again = await ws.click({
      user: 'UMIA',
      actionId: 'request.approve',
      value: requestId,
      channel: 'DMIA',
      messageTs: dm.answer!.ts,
    });
    expect(textOf((await ws.waitForResponse(again.responsePath)).body)).toContain('already *approved* by <@UMIA>');
    expect(await ledgerOf(h, ws).wallet('UANA')).toBe(2_000n);
    expect((await ledgerOf(h, ws).transfers()).filter((t) => t.code === 'topup')).toHaveLength(1);
  });
});

describe('DM channels', () => {
  it('a DM channel is opened once per person; a stale one (channel_not_found) is opened again and the message still arrives', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    await ws.command('UMIA', '/grant-tokens', '<@UANA> 1k first');
    await ws.command('UMIA', '/grant-tokens', '<@UANA> 1k second');
    await settle(h);
    expect(ws.callsOf('conversations.open').filter((c) => c.params.users === 'UANA')).toHaveLength(1);
    expect(ws.callsOf('chat.postMessage').filter((c) => c.params.channel === 'DANA')).toHaveLength(2);
    h.slack.inject('chat.postMessage', { error: 'channel_not_found' });
    const { reply } = await ws.command('UMIA', '/grant-tokens', '<@UANA> 1k third');
    expect(textOf(reply)).not.toContain('could not message');
    await settle(h);
    expect(ws.callsOf('conversations.open').filter((c) => c.params.users === 'UANA')).toHaveLength(2);
    const posts = ws.callsOf('chat.postMessage').filter((c) => c.params.channel === 'DANA');
    expect(posts.map((c) => c.answer?.ok)).toEqual([true, true, false, true]);
    expect(await ledgerOf(h, ws).wallet('UANA')).toBe(3_000n);
  });
});

describe('channel posts', () => {
  it('the Slack sender posts into a channel (the weekly digest) and reports a channel it cannot write to', async () => {
    const ws = new SlackWorkspace(h);
    ws.user('UANA');
    await ws.command('UANA', '/balance', '');
    const orgId = (await ledgerOf(h, ws).org()).id;
    const digest = { summary: 'Weekly digest <!channel>', blocks: [] };
    const sent = await h.allot.deps.notifier.postToChannel({
      orgId,
      destination: { platform: 'slack', ref: { channelId: 'CDIGEST1' } },
      message: digest,
    });
    expect(sent).toMatchObject({ ok: true, location: { platform: 'slack', ref: { channel: 'CDIGEST1' } } });
    const post = h.slack.callsOf('chat.postMessage').find((c) => c.params.channel === 'CDIGEST1')!;
    expect(post.params.text).toBe('Weekly digest &lt;!channel&gt;');
    h.slack.inject('chat.postMessage', { error: 'not_in_channel' });
    const refused = await h.allot.deps.notifier.postToChannel({
      orgId,
      destination: { platform: 'slack', ref: { channelId: 'CPRIVATE' } },
      message: digest,
    });
    expect(refused).toMatchObject({ ok: false, reason: 'unreachable', detail: 'not_in_channel' });
  });
});
