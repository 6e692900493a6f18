import { expect, it } from 'vitest';
import { ChannelPacer } from '../../src/slack/channel-pacer';

it('messages to one channel are spaced by the interval, while another channel does not wait', async () => {
  const pacer = new ChannelPacer(150);
  const started = Date.now();
  const times: Record<string, number[]> = { C1: [], C2: [] };
  await Promise.all([
    ...[1, 2, 3].map(async () => {
      await pacer.wait('C1');
      times.C1!.push(Date.now() - started);
    }),
    (async () => {
      await pacer.wait('C2');
      times.C2!.push(Date.now() - started);
    })(),
  ]);
  const c1 = times.C1!.sort((a, b) => a - b);
  expect(c1[1]! - c1[0]!).toBeGreaterThanOrEqual(140);
  expect(c1[2]! - c1[1]!).toBeGreaterThanOrEqual(140);
  expect(times.C2![0]!).toBeLessThan(100);
});
