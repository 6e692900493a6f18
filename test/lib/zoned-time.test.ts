import { describe, expect, it } from 'vitest';
import { instantOfWallTime, nextPeriodStart, periodStart, previousPeriodStart } from '../../src/lib/zoned-time.models';

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

  it('a local time skipped by the spring change moves forward; a repeated one takes the earlier instant', () => {
    expect(
      instantOfWallTime('Europe/Berlin', { year: 2026, month: 3, day: 29, hour: 2, minute: 30 }).toISOString(),
    ).toBe('2026-03-29T01:30:00.000Z');
    expect(
      instantOfWallTime('Europe/Berlin', { year: 2026, month: 10, day: 25, hour: 2, minute: 30 }).toISOString(),
    ).toBe('2026-10-25T00:30:00.000Z');
  });

  it('a day starts at local midnight even in a half-hour zone', () => {
    expect(periodStart('day', 'Asia/Kolkata', new Date('2026-11-27T20:00:00Z')).toISOString()).toBe(
      '2026-11-27T18:30:00.000Z',
    );
  });
});
