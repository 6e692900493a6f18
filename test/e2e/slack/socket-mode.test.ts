import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SlackHarness, SlackWorkspace, startSlackHarness } from '../../support/app';
import { textOf } from '../../support/fake-slack';
import type { FakeSocketMode } from '../../support/fake-socket-mode';
import { runCommandScenario } from './scenario';
import { ledgerOf, settle, setUpTeam } from './team';

// Socket Mode end to end: Allot's real Bolt app (SocketModeReceiver, @slack/socket-mode's client over
// a real WebSocket) against a local server speaking Slack's Socket Mode protocol (fake-socket-mode.ts):
// apps.connections.open on the fake Web API hands out its URL, envelopes are acknowledged by
// envelope_id, and a `disconnect` message makes the client reconnect.

let h: SlackHarness;
let socket: FakeSocketMode;
beforeAll(async () => {
  h = await startSlackHarness({ SLACK_APP_TOKEN: 'xapp-1-test-app-token' }, { socketMode: true });
  socket = h.socket!;
  await socket.waitForConnection(1);
});
afterAll(async () => h?.stop());

describe('Socket Mode', () => {
  it('with SLACK_APP_TOKEN the bot opens its connection with the app-level token and serves no HTTP Slack route', async () => {
    const opened = h.slack.callsOf('apps.connections.open');
    expect(opened.length).toBeGreaterThanOrEqual(1);
    expect(opened.every((call) => call.token === 'xapp-1-test-app-token')).toBe(true);
    const ws = new SlackWorkspace(h);
    const { body } = ws.commandBody({ user: 'UANA', command: '/balance', text: '' });
    const response = await fetch(`${h.baseUrl}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(response.status).toBe(404);
    expect((await fetch(`${h.baseUrl}/healthz`)).status).toBe(200);
  });

  it('the command scenario runs over Socket Mode as over HTTP, across a forced reconnect: no command lost, none answered twice', async () => {
    const ws = new SlackWorkspace(h);
    const connectionsBefore = socket.connectionCount;
    const opensBefore = h.slack.callsOf('apps.connections.open').length;
    const replies = await runCommandScenario(ws, {
      // Slack recycles the connection: the commands typed next wait for the new one.
      midway: () => socket.requestReconnect(),
    });
    expect(socket.connectionCount).toBe(connectionsBefore + 1);
    expect(h.slack.callsOf('apps.connections.open')).toHaveLength(opensBefore + 1);
    // Every envelope of the scenario was acknowledged exactly once, and the second half came over the new connection.
    const mine = socket.sent.filter((sent) => JSON.stringify(sent.envelope.payload).includes(ws.teamId));
    const ackCounts = mine.map((sent) => socket.acks.filter((ack) => ack.envelope_id === sent.envelope.envelope_id));
    expect(ackCounts.every((acks) => acks.length === 1)).toBe(true);
    const secondHalf = replies.slice(2).map((reply) => reply.responsePath);
    const carriers = mine
      .filter((sent) => secondHalf.some((path) => String(sent.envelope.payload.response_url).endsWith(path)))
      .map((sent) => sent.connection);
    expect(carriers).toEqual(secondHalf.map(() => connectionsBefore + 1));
  });

  it('an envelope Slack sends again because its acknowledgement was lost is acknowledged, but not run or answered twice', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws);
    const { reply, responsePath } = await ws.command('UMIA', '/grant-tokens', '<@UANA> 3k thanks');
    expect(textOf(reply)).toContain('You granted *3,000 tokens*');
    await settle(h);
    const grant = socket.sent.find((sent) => String(sent.envelope.payload.response_url).endsWith(responsePath))!;
    const dmsBefore = ws.callsOf('chat.postMessage').length;

    const second = await socket.redeliver(grant.envelope.envelope_id);
    expect(second.envelope_id).toBe(grant.envelope.envelope_id);
    await settle(h);
    expect(h.slack.responsesTo(responsePath)).toHaveLength(1);
    expect(ws.callsOf('chat.postMessage')).toHaveLength(dmsBefore);
    const ledger = ledgerOf(h, ws);
    expect(await ledger.wallet('UANA')).toBe(3_000n);
    expect((await ledger.transfers()).filter((transfer) => transfer.code === 'grant')).toHaveLength(1);
    expect(await ledger.audit()).toEqual([]);
  });
});
