import { describe, expect, it } from 'vitest';
import { instantOfDateInput, parseDateInput, parseInstantInput } from '../../src/lib/date-input.models';

// Dates typed by people: a calendar date or a full ISO 8601 date-time with its zone, nothing else, and
// nothing rolls over into another day.

describe('dates typed by people', () => {
  it.each([
    ['2026-01-31', '2026-01-31T00:00:00.000Z'],
    ['2028-02-29', '2028-02-29T00:00:00.000Z'],
    ['2000-02-29', '2000-02-29T00:00:00.000Z'],
    ['  2026-12-31  ', '2026-12-31T00:00:00.000Z'],
    ['2026-01-31T09:00:00Z', '2026-01-31T09:00:00.000Z'],
    ['2026-01-31T09:00Z', '2026-01-31T09:00:00.000Z'],
    ['2026-01-31T09:00:00+01:00', '2026-01-31T08:00:00.000Z'],
    ['2026-01-31T09:00:00-05:30', '2026-01-31T14:30:00.000Z'],
    ['2026-01-31T23:59:59.999999Z', '2026-01-31T23:59:59.999Z'],
    ['2026-03-01T00:30:00+02:00', '2026-02-28T22:30:00.000Z'],
  ])('"%s" is accepted as %s (a bare date at UTC midnight)', (text, instant) => {
    expect(parseInstantInput(text, { dateOnlyZone: 'UTC' })).toEqual({ ok: true, value: new Date(instant) });
  });

  it.each([
    ['2026-02-30', 'February 2026 has 28 days, not 30'],
    ['2026-02-29', 'February 2026 has 28 days, not 29'],
    ['2100-02-29', 'February 2100 has 28 days, not 29'],
    ['2026-04-31', 'April 2026 has 30 days, not 31'],
    ['2026-13-01', 'there is no month 13'],
    ['2026-00-10', 'there is no month 0'],
    ['2026-01-00', 'January 2026 has 31 days, not 0'],
    ['2026-02-30T10:00:00Z', 'February 2026 has 28 days'],
    ['1', 'is a number, not a date'],
    ['2026', 'is a number, not a date'],
    ['20260131', 'is a number, not a date'],
    ['2026-01-31T09:00:00', 'has no time zone; add Z for UTC or an offset like +01:00'],
    ['2026-01-31T25:00:00Z', 'impossible time of day, “25:00:00”'],
    ['2026-01-31T09:60Z', 'impossible time of day'],
    ['2026-01-31T09:00:00+24:00', 'offset “+24:00”'],
    ['2026-01-31T09:00:00+0100', 'not a date I can read'],
    ['2026-01-31 09:00:00Z', 'not a date I can read'],
    ['2026-1-5', 'not a date I can read'],
    ['31/01/2026', 'not a date I can read'],
    ['Jan 31 2026', 'not a date I can read'],
    ['tomorrow', 'not a date I can read'],
    ['2026-01-31t09:00:00z', 'not a date I can read'],
    ['', 'No date given'],
    ['2'.repeat(50), 'too long'],
  ])('"%s" is refused (%s), with an example of what to type', (text, why) => {
    const parsed = parseDateInput(text);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.failure).toBe('date_invalid');
    expect(parsed.message).toContain(why);
    expect(parsed.message).toContain('Type a date like 2026-01-31, or a date and time with its zone');
  });

  it('a bare date is kept as a calendar date until someone says whose midnight it is', () => {
    const parsed = parseDateInput('2026-03-29');
    expect(parsed).toEqual({ ok: true, value: { kind: 'date', year: 2026, month: 3, day: 29 } });
    if (!parsed.ok) return;
    expect(instantOfDateInput(parsed.value, 'UTC').toISOString()).toBe('2026-03-29T00:00:00.000Z');
    expect(instantOfDateInput(parsed.value, 'Europe/Berlin').toISOString()).toBe('2026-03-28T23:00:00.000Z');
    expect(instantOfDateInput(parsed.value, 'America/New_York').toISOString()).toBe('2026-03-29T04:00:00.000Z');
  });

  it('a date-time is the instant it names, whatever zone a bare date would use', () => {
    const parsed = parseDateInput('2026-03-29T12:00:00+02:00');
    expect(parsed.ok && instantOfDateInput(parsed.value, 'America/New_York').toISOString()).toBe(
      '2026-03-29T10:00:00.000Z',
    );
  });
});
