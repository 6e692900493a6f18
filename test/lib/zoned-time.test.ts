import { describe, expect, it } from 'vitest';
import { nextPeriodStart, periodStart, previousPeriodStart } from '../../src/lib/periods.models';
import { instantOfWallTime, offsetChangeBetween, resolveWallTime } from '../../src/lib/zoned-time.models';

describe('periods in a time zone', () => {
  it('a week starts on Monday at local midnight', () => {
    expect(periodStart('week', 'Europe/Berlin', new Date('2026-11-27T10:00:00Z')).toISOString()).toBe(
      '2026-11-22T23:00:00.000Z',
    );
    expect(previousPeriodStart('week', 'UTC', new Date('2026-11-27T10:00:00Z')).toISOString()).toBe(
      '2026-11-16T00:00:00.000Z',
    );
  });

  it('a month that spans the spring change ends at midnight summer time', () => {
    expect(periodStart('month', 'Europe/Berlin', new Date('2026-03-31T10:00:00Z')).toISOString()).toBe(
      '2026-02-28T23:00:00.000Z',
    );
    expect(nextPeriodStart('month', 'Europe/Berlin', new Date('2026-03-15T10:00:00Z')).toISOString()).toBe(
      '2026-03-31T22:00:00.000Z',
    );
  });

  it('a quarter starts on the first of January, April, July or October', () => {
    expect(periodStart('quarter', 'America/New_York', new Date('2026-05-10T00:00:00Z')).toISOString()).toBe(
      '2026-04-01T04:00:00.000Z',
    );
  });

  it('a local time skipped by the spring change resolves to the first instant after the jump; a repeated one takes the earlier instant', () => {
    // 02:30 does not exist in Berlin on 29 March 2026: clocks go from 02:00 to 03:00 CEST (01:00 UTC).
    expect(
      instantOfWallTime('Europe/Berlin', { year: 2026, month: 3, day: 29, hour: 2, minute: 30 }).toISOString(),
    ).toBe('2026-03-29T01:00:00.000Z');
    expect(
      instantOfWallTime('Europe/Berlin', { year: 2026, month: 10, day: 25, hour: 2, minute: 30 }).toISOString(),
    ).toBe('2026-10-25T00:30:00.000Z');
  });

  it('says whether a local time is shown once, twice or never, with every instant it is shown', () => {
    const repeated = resolveWallTime('America/New_York', { year: 2026, month: 11, day: 1, hour: 1, minute: 30 });
    expect(repeated.kind).toBe('repeated');
    expect(repeated.shownAt.map((at) => at.toISOString())).toEqual([
      '2026-11-01T05:30:00.000Z',
      '2026-11-01T06:30:00.000Z',
    ]);
    const skipped = resolveWallTime('America/New_York', { year: 2026, month: 3, day: 8, hour: 2, minute: 30 });
    expect(skipped).toEqual({ kind: 'skipped', at: new Date('2026-03-08T07:00:00Z'), shownAt: [] });
    // A half-hour jump (Lord Howe Island, 02:00 → 02:30): 02:15 resolves to 02:30, not 02:45.
    expect(
      resolveWallTime('Australia/Lord_Howe', { year: 2026, month: 10, day: 4, hour: 2, minute: 15 }).at.toISOString(),
    ).toBe('2026-10-03T15:30:00.000Z');
    // Midnight skipped (Asunción) and repeated (Havana), where allowance periods start.
    expect(resolveWallTime('America/Asuncion', { year: 2023, month: 10, day: 1 })).toMatchObject({
      kind: 'skipped',
      at: new Date('2023-10-01T04:00:00Z'),
    });
    expect(resolveWallTime('America/Havana', { year: 2026, month: 11, day: 1 })).toMatchObject({
      kind: 'repeated',
      at: new Date('2026-11-01T04:00:00Z'),
    });
    expect(resolveWallTime('Europe/Berlin', { year: 2026, month: 7, day: 1, hour: 9 })).toMatchObject({
      kind: 'unique',
      at: new Date('2026-07-01T07:00:00Z'),
    });
  });

  it('a day starts at local midnight even in a half-hour zone', () => {
    expect(periodStart('day', 'Asia/Kolkata', new Date('2026-11-27T20:00:00Z')).toISOString()).toBe(
      '2026-11-27T18:30:00.000Z',
    );
  });
});

describe('finding the instant clocks change', () => {
  it('is the same second whatever the bounds of the search, aligned or not', () => {
    const change = '2026-03-08T07:00:00.000Z';
    for (const [after, until] of [
      ['2026-03-08T06:59:28.773Z', '2026-03-08T07:00:01.006Z'],
      ['2026-03-08T06:00:00.000Z', '2026-03-08T08:00:00.000Z'],
      ['2026-03-08T06:59:59.999Z', '2026-03-08T07:00:00.000Z'],
      ['2026-03-07T19:00:00.500Z', '2026-03-08T07:00:00.001Z'],
    ]) {
      expect(offsetChangeBetween('America/New_York', new Date(after!), new Date(until!))?.toISOString()).toBe(change);
    }
    expect(offsetChangeBetween('America/New_York', new Date(change), new Date('2026-03-08T09:00:00Z'))).toBeUndefined();
    // Bounds at any millisecond, near and far (a fixed sequence, so a failure repeats).
    let seed = 7;
    const next = () => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    for (let trial = 0; trial < 200; trial++) {
      const reach = trial % 2 === 0 ? 3_000 : 12 * 3_600_000;
      const after = new Date(Date.parse(change) - 1 - Math.floor(next() * reach));
      const until = new Date(Date.parse(change) + Math.floor(next() * reach));
      expect(offsetChangeBetween('America/New_York', after, until)?.toISOString()).toBe(change);
    }
  });
});
