import { expect, it } from 'vitest';
import { SendLimiter } from '../../src/lib/send-limiter';

it('messages to one channel are spaced by the interval, while another channel does not wait', async () => {
  // Slack's own window is one message a second per channel; 150 ms keeps the test short.
  const limiter = new SendLimiter([{ count: 1, ms: 150 }]);
  const started = Date.now();
  const times: Record<string, number[]> = { C1: [], C2: [] };
  await Promise.all([
    ...[1, 2, 3].map(() => limiter.run('C1', async () => times.C1!.push(Date.now() - started))),
    limiter.run('C2', async () => times.C2!.push(Date.now() - started)),
  ]);
  const c1 = times.C1!.sort((a, b) => a - b);
  expect(c1[1]! - c1[0]!).toBeGreaterThanOrEqual(140);
  expect(c1[2]! - c1[1]!).toBeGreaterThanOrEqual(140);
  expect(times.C2![0]!).toBeLessThan(100);
});
