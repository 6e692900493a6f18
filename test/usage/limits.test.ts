import { expect, it } from 'vitest';
import { isNearLimit, receivedCodes } from '../../src/usage/limits.models';

it('is near the limit at or below the share left of what was received, and never with nothing received', () => {
  expect(isNearLimit({ balance: 100n, received: 1_000n, percentLeft: 10 })).toBe(true);
  expect(isNearLimit({ balance: 101n, received: 1_000n, percentLeft: 10 })).toBe(false);
  // 10 % of 1,005 is 100.5: 100 is near, 101 is not (exact, no truncation of the limit first).
  expect(isNearLimit({ balance: 100n, received: 1_005n, percentLeft: 10 })).toBe(true);
  expect(isNearLimit({ balance: 101n, received: 1_005n, percentLeft: 10 })).toBe(false);
  expect(isNearLimit({ balance: -5n, received: 1_000n, percentLeft: 5 })).toBe(true);
  expect(isNearLimit({ balance: 0n, received: 0n, percentLeft: 20 })).toBe(false);
  expect(isNearLimit({ balance: -1n, received: 0n, percentLeft: 20 })).toBe(false);
});

it('counts as received only what was given: grants, top-ups and allowances', () => {
  expect([...receivedCodes].sort()).toEqual(['allocate', 'grant', 'topup']);
});
