import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { currentPeriod, zonedDayStart } from '../../src/lib/periods.models';
import { thresholdsReached } from '../../src/usage/limits.models';
import { formatMoney, parsePricePerMillion, parseWeight } from '../../src/usage/pricing.models';
import { hashRawEvent, usageIdempotencyKey } from '../../src/usage/replay.models';
import {
  checkUsageColumns,
  hashEventContent,
  parseUsageEvent,
  rawEventId,
  rawUserText,
} from '../../src/usage/usage.models';

const now = new Date('2026-01-05T09:00:00Z');

it('reads typed prices and weights strictly, refusing what is not a plain amount', () => {
  expect(parsePricePerMillion('2.50')).toBe(2_500_000n);
  expect(parsePricePerMillion('$0.000001')).toBe(1n);
  expect(parsePricePerMillion('10')).toBe(10_000_000n);
  for (const bad of ['-1', '1e3', '0x10', '1.0000001', 'ten', '', '١'])
    expect(parsePricePerMillion(bad)).toBeUndefined();
  expect(parseWeight('1.5')).toBe(1500);
  expect(parseWeight('0')).toBe(0);
  for (const bad of ['-1', '1001', '1.2345', 'NaN', '']) expect(parseWeight(bad)).toBeUndefined();
});

it('shows money from integer micro-units without floats', () => {
  expect(formatMoney(0n)).toBe('$0');
  expect(formatMoney(2_500n)).toBe('$0.0025');
  expect(formatMoney(1_234_567_890n)).toBe('$1,234.57');
  expect(formatMoney(-5_000_000n)).toBe('-$5.00');
});

it('keys a usage transfer by its event id, hashing ids too long to carry the prefix', () => {
  expect(usageIdempotencyKey('evt-1')).toBe('usage:evt-1');
  const long = usageIdempotencyKey('x'.repeat(255));
  expect(long).toMatch(/^usage#[A-Za-z0-9_-]{43}$/);
  expect(usageIdempotencyKey('x'.repeat(255))).toBe(long);
});

it('finds the current week, month and quarter in a time zone', () => {
  expect(currentPeriod('week', now, 'UTC')).toEqual({ start: '2026-01-05', end: '2026-01-12' });
  expect(currentPeriod('week', new Date('2026-01-04T23:00:00Z'), 'UTC')).toEqual({
    start: '2025-12-29',
    end: '2026-01-05',
  });
  expect(currentPeriod('week', new Date('2026-01-04T23:00:00Z'), 'Europe/Paris')).toEqual({
    start: '2026-01-05',
    end: '2026-01-12',
  });
  expect(currentPeriod('month', new Date('2026-12-31T23:30:00Z'), 'UTC')).toEqual({
    start: '2026-12-01',
    end: '2027-01-01',
  });
  expect(currentPeriod('quarter', new Date('2026-11-27T09:00:00Z'), 'UTC')).toEqual({
    start: '2026-10-01',
    end: '2027-01-01',
  });
  expect(zonedDayStart('2026-07-01', 'Europe/Paris').toISOString()).toBe('2026-06-30T22:00:00.000Z');
});

it('reaches thresholds by what is left of what was received, and overage below zero', () => {
  const percents = [20, 5];
  expect(thresholdsReached({ after: 300n, receivedThisPeriod: 1000n, percents })).toEqual([]);
  expect(thresholdsReached({ after: 200n, receivedThisPeriod: 1000n, percents })).toEqual(['left_20']);
  expect(thresholdsReached({ after: 50n, receivedThisPeriod: 1000n, percents })).toEqual(['left_5', 'left_20']);
  expect(thresholdsReached({ after: -1n, receivedThisPeriod: 1000n, percents })).toEqual([
    'overage',
    'left_5',
    'left_20',
  ]);
  expect(thresholdsReached({ after: -1n, receivedThisPeriod: 0n, percents })).toEqual(['overage']);
  expect(thresholdsReached({ after: 0n, receivedThisPeriod: 0n, percents })).toEqual([]);
});

it('normalises an event: model lower-cased, email lower-cased, category defaulted', () => {
  const parsed = parseUsageEvent(
    {
      id: 'a',
      time: '2026-01-05T08:00:00+01:00',
      user: ' Ana@Example.COM ',
      model: 'GPT-4o',
      input_tokens: '5',
      output_tokens: 0,
    },
    now,
  );
  expect(parsed).toMatchObject({
    ok: true,
    event: { user: { kind: 'email', email: 'ana@example.com' }, model: 'gpt-4o', category: 'other', inputTokens: 5n },
  });
  expect(parsed.ok && parsed.event.time.toISOString()).toBe('2026-01-05T07:00:00.000Z');
  // A time without a zone is ambiguous and refused.
  expect(
    parseUsageEvent(
      { id: 'b', time: '2026-01-05T08:00:00', user: 'a@b.co', model: 'm', input_tokens: 1, output_tokens: 0 },
      now,
    ),
  ).toMatchObject({
    ok: false,
    reason: 'invalid_time',
  });
});

it('an event without a required field is told that field is missing, by the names it may go by', () => {
  const full = { id: 'a', time: '2026-01-05T08:00:00Z', user: 'a@b.co', model: 'm', input_tokens: 1, output_tokens: 0 };
  const { model: _model, ...noModel } = full;
  expect(parseUsageEvent(noModel, now)).toEqual({
    ok: false,
    reason: 'missing_field',
    field: 'model',
    message: '"model" (or gen_ai.request.model, gen_ai.response.model) is missing; every event needs it.',
  });
  const { output_tokens: _output, ...noOutput } = full;
  expect(parseUsageEvent(noOutput, now)).toMatchObject({
    reason: 'missing_field',
    field: 'output_tokens',
    message: expect.stringMatching(
      /^"output_tokens" .* is missing; every event needs it \(0 when there were none\)\.$/,
    ),
  });
  // Present but wrong is still invalid, not missing.
  expect(parseUsageEvent({ ...full, model: '' }, now)).toMatchObject({ reason: 'invalid_model', field: 'model' });
  expect(parseUsageEvent({ ...full, model: null }, now)).toMatchObject({ reason: 'missing_field' });
});

it('checks the columns of a usage CSV: unknown, missing and repeated names, pinned or OpenTelemetry', () => {
  expect(checkUsageColumns(['id', 'time', 'user', 'model', 'input_tokens', 'output_tokens', 'category'])).toBe(
    undefined,
  );
  expect(
    checkUsageColumns([
      'gen_ai.response.id',
      'time',
      'user.email',
      'gen_ai.request.model',
      'gen_ai.usage.input_tokens',
      'gen_ai.usage.output_tokens',
    ]),
  ).toBe(undefined);
  expect(checkUsageColumns(['id', 'time', 'user', 'modle', 'input_tokens', 'output_tokens', '', 'id'])).toEqual({
    unknown: ['modle', '(column 7 has no name)'],
    missing: ['model'],
    duplicate: ['id'],
  });
});

it('reads an event id as validation would, and hashes an event exactly as it was sent', () => {
  expect(rawEventId({ id: 'evt-1', event_id: 'other' })).toBe('evt-1');
  expect(rawEventId({ attributes: { 'gen_ai.response.id': 'chatcmpl-9' } })).toBe('chatcmpl-9');
  expect(rawEventId({ id: 42 })).toBeUndefined();
  expect(rawEventId({ id: 'x'.repeat(256) })).toBeUndefined();
  expect(rawEventId('evt-1')).toBeUndefined();
  const sent = { id: 'evt-1', time: '2026-01-05T08:00:00Z', user: 'ana@example.com', model: 'gpt-4o' };
  expect(hashRawEvent({ ...sent })).toBe(hashRawEvent(sent));
  // Another spelling of the same content (case, key order) is another raw hash: it takes the full path.
  expect(hashRawEvent({ ...sent, model: 'GPT-4o' })).not.toBe(hashRawEvent(sent));
  expect(hashRawEvent({ time: sent.time, id: sent.id, user: sent.user, model: sent.model })).not.toBe(
    hashRawEvent(sent),
  );
  expect(hashRawEvent({ id: 'evt-1', input_tokens: 1n })).toBeUndefined();
  expect(hashRawEvent(null)).toBeUndefined();
});

it('hashes an event by content exactly as stored hashes were made: SHA-256 of the JSON array of its fields', () => {
  // Stored content hashes decide duplicates and conflicts for ever, so the hashed text may not change by a byte.
  const users = [
    'ana@example.com',
    'a"b\\c@x.io',
    'é\u0001@x.io',
    'slack:U123ABC',
    'teams:8f1c2d3e-0000-4000-8000-000000000001',
  ];
  for (const userText of users) {
    const event = {
      id: 'evt-1',
      time: new Date('2026-01-05T08:00:00.123Z'),
      user: { kind: 'email' as const, email: userText },
      userText,
      model: 'gpt-4o',
      category: 'other',
      inputTokens: 1_000_000_000n,
      outputTokens: 0n,
    };
    const text = JSON.stringify(['2026-01-05T08:00:00.123Z', userText, 'gpt-4o', 'other', '1000000000', '0']);
    expect(hashEventContent(event)).toBe(createHash('sha256').update(text).digest('base64url'));
  }
});

it('reads an event user before validation as validation will: the members looked up are those valid events name', () => {
  const base = { id: 'e', time: '2026-01-05T08:00:00Z', model: 'gpt-4o', input_tokens: 1, output_tokens: 0 };
  const spellings: Record<string, unknown>[] = [
    { ...base, user: ' Ana@Example.COM ' },
    { ...base, 'user.email': 'ben@example.com' },
    { ...base, 'enduser.id': 'slack:U0123ABC' },
    { ...base, attributes: { 'user.id': 'teams:8F1C2D3E-0000-4000-8000-000000000001' } },
    { ...base, user: 'ana@example.com', 'user.email': 'other@example.com' },
    { ...base, user: null, 'user.id': 'cy@example.com' },
  ];
  for (const sent of spellings) {
    const parsed = parseUsageEvent(sent, now);
    expect(parsed.ok).toBe(true);
    expect(rawUserText(sent)).toBe(parsed.ok ? parsed.event.userText : 'never');
  }
  for (const user of ['ab', 'no-at-sign', 'slack:lowercase', 42, 'x'.repeat(250) + '@x.io']) {
    expect(rawUserText({ ...base, user })).toBeUndefined();
  }
});
