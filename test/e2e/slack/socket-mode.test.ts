import { afterAll, beforeAll, expect, it } from 'vitest';
import { type SlackHarness, SlackWorkspace, startSlackHarness } from '../../support/app';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness({ SLACK_APP_TOKEN: 'xapp-1-test-app-token' });
});
afterAll(async () => h?.stop());

it('with SLACK_APP_TOKEN the bot connects through Socket Mode (app token, same API URL) and serves no HTTP Slack route', async () => {
  const open = await h.slack.waitFor(
    () => h.slack.callsOf('apps.connections.open')[0],
    10_000,
    'apps.connections.open',
  );
  expect(open.token).toBe('xapp-1-test-app-token');
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
