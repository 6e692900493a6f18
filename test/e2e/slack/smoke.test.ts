import { afterAll, beforeAll, expect, it } from 'vitest';
import { type SlackHarness, SlackWorkspace, startSlackHarness } from '../../support/app';
import { textOf } from '../../support/fake-slack';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness();
});
afterAll(async () => h?.stop());

it('smoke', async () => {
  const ws = new SlackWorkspace(h);
  ws.user('UADMIN', { is_admin: true });
  ws.user('UMIA');
  ws.user('UANA');
  const r1 = await ws.command('UADMIN', '/tokens', 'role <@UMIA> manager');
  console.log(textOf(r1.reply), r1.ack);
  const r2 = await ws.command('UADMIN', '/tokens', 'budget <@UMIA> 100k Q3');
  console.log(textOf(r2.reply));
  const r3 = await ws.command('UMIA', '/grant-tokens', '<@UANA> 50 000 shipped <!channel>');
  console.log(textOf(r3.reply));
  console.log(JSON.stringify(h.slack.calls.map((c) => [c.method, c.params.channel ?? c.params.user ?? c.params.users])));
  expect(r3.reply.response_type).toBe('ephemeral');
});
