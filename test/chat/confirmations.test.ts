import { expect, it } from 'vitest';
import {
  decodePendingOperation,
  encodePendingOperation,
  type PendingOperation,
  pendingOperationValueLengthMax,
} from '../../src/chat/confirmations.models';
import { needsConfirmation, unconfirmedTokensMax } from '../../src/ledger/ledger.models';

// A large operation waits in its buttons' value: what comes back is exactly what was asked, or nothing.

it('more than 10,000,000 tokens in all needs a confirmation; exactly 10,000,000 does not', () => {
  expect(unconfirmedTokensMax).toBe(10_000_000n);
  expect(needsConfirmation(10_000_000n)).toBe(false);
  expect(needsConfirmation(10_000_001n)).toBe(true);
});

it('a grant and a budget issue come back from their buttons exactly as they were asked', () => {
  const grant: PendingOperation = {
    kind: 'grant',
    issuerId: 7n,
    recipientIds: [11n, 12n],
    amount: 6_000_000n,
    reason: 'launch "bonus" <!here> ✨',
    idempotencyKey: 'slack:T1:1234.5678.abcdef',
  };
  const budget: PendingOperation = {
    kind: 'budget',
    issuerId: 7n,
    managerId: 9n,
    amount: 25_000_000n,
    memo: '',
    idempotencyKey: 'teams:a:b',
  };
  for (const operation of [grant, budget]) {
    const value = encodePendingOperation(operation);
    expect(value).toBeDefined();
    expect(decodePendingOperation(value!)).toEqual(operation);
  }
});

it('an operation too long for a button is not encoded, and a value that is not ours is not read', () => {
  const huge: PendingOperation = {
    kind: 'grant',
    issuerId: 1n,
    recipientIds: Array.from({ length: 50 }, (_, i) => 100_000_000_000_000_000n + BigInt(i)),
    amount: 11_000_000n,
    reason: '"'.repeat(500), // each is escaped in the value
    idempotencyKey: 'k'.repeat(255),
  };
  expect(encodePendingOperation(huge)).toBeUndefined();
  const good = encodePendingOperation({ ...huge, recipientIds: [5n], reason: 'ok', idempotencyKey: 'k' })!;
  expect(good.length).toBeLessThanOrEqual(pendingOperationValueLengthMax);
  for (const bad of [
    '12',
    'not json',
    '{"kind":"grant","by":"1","to":[],"amount":"5","reason":"","key":"k"}',
    '{"kind":"grant","by":"1","to":["2"],"amount":"-5","reason":"","key":"k"}',
    '{"kind":"reversal","by":"1","amount":"5","key":"k"}',
    good.replace('"by":"1"', '"by":1'),
  ]) {
    expect(decodePendingOperation(bad), bad).toBeUndefined();
  }
});
