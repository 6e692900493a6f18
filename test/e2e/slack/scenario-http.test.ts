import { afterAll, beforeAll, expect, it } from 'vitest';
import { type SlackHarness, SlackWorkspace, startSlackHarness } from '../../support/app';
import { runCommandScenario } from './scenario';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness();
});
afterAll(async () => h?.stop());

it('over HTTP (signed requests to /slack/events), the command scenario is answered once per command and the ledger adds up', async () => {
  const ws = new SlackWorkspace(h);
  const replies = await runCommandScenario(ws);
  expect(replies).toHaveLength(5);
  // One workspace, one token: every call the bot made used SLACK_BOT_TOKEN.
  expect(new Set(h.slack.calls.map((call) => call.token))).toEqual(new Set(['xoxb-test-token']));
});
