import { describe, expect, it } from 'vitest';
import { allowanceExpiryOf, allowanceLotTerms, describeAllowanceExpiry } from '../../src/allowances/allowances.models';
import {
  decodeExpiry,
  type ExpiryInput,
  encodeExpiry,
  expiryHashPart,
  expiryInstant,
  expiryProblem,
  lastValidDay,
  latestExpiry,
  parseDurationDays,
  parseExpiryInput,
  validUntilLabel,
} from '../../src/lib/expiry.models';

// The expiry rule as people type it (lib/expiry.models.ts): what is read, what is refused with what to
// type instead, and the instant each recipient's lot expires at in their own zone.

const now = new Date('2026-11-30T10:00:00Z');

function read(text: string): ExpiryInput {
  const parsed = parseExpiryInput(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
}

describe('reading an expiry', () => {
  it('reads a calendar date, a date-time with its zone, a number of days, and never or none', () => {
    expect(read('2026-12-31')).toEqual({ kind: 'date', year: 2026, month: 12, day: 31 });
    expect(read('2026-12-31T09:00:00Z')).toEqual({ kind: 'instant', at: new Date('2026-12-31T09:00:00Z') });
    expect(read('90d')).toEqual({ kind: 'duration', days: 90 });
    expect(read('30days')).toEqual({ kind: 'duration', days: 30 });
    expect(read('1day')).toEqual({ kind: 'duration', days: 1 });
    expect(read('never')).toEqual({ kind: 'never' });
    expect(read('None')).toEqual({ kind: 'never' });
  });

  it.each([
    ['0d', /would expire at once.*at least 1d/],
    ['-5d', /not a number of days.*90d/],
    ['1.5d', /not a number of days.*90d/],
    ['1,000d', /not a number of days/],
    ['١٢d', /not a number of days/],
    ['4000d', /more than 5 years ahead.*1830d/],
    ['2026-02-30', /February 2026 has 28 days.*number of days like 90d or never/],
    ['2026-13-01', /no month 13/],
    ['31/12/2026', /not a date I can read.*90d/],
    ['2026', /number, not a date/],
    ['tomorrow', /not a date I can read/],
    ['2026-12-31T09:00', /no time zone/],
  ])('refuses “%s” and says what to type instead', (text, message) => {
    const parsed = parseExpiryInput(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toMatch(message);
  });

  it('a number of days alone is read strictly too: 90d yes, 90 or 90 days no', () => {
    expect(parseDurationDays('90d')).toEqual({ ok: true, value: 90 });
    expect(parseDurationDays('90').ok).toBe(false);
    expect(parseDurationDays('90 days').ok).toBe(false);
  });
});

describe('when a lot expires', () => {
  it('a date is the end of that day in the recipient’s zone: Auckland, Berlin and Los Angeles are three instants', () => {
    const date = read('2026-12-31');
    expect(expiryInstant(date, { now, timeZone: 'Pacific/Auckland' })).toEqual(new Date('2026-12-31T11:00:00Z'));
    expect(expiryInstant(date, { now, timeZone: 'Europe/Berlin' })).toEqual(new Date('2026-12-31T23:00:00Z'));
    expect(expiryInstant(date, { now, timeZone: 'America/Los_Angeles' })).toEqual(new Date('2027-01-01T08:00:00Z'));
    for (const zone of ['Pacific/Auckland', 'Europe/Berlin', 'America/Los_Angeles']) {
      const at = expiryInstant(date, { now, timeZone: zone })!;
      expect(lastValidDay(at, zone)).toBe('2026-12-31');
      expect(validUntilLabel(at, zone)).toBe('31 Dec 2026');
    }
  });

  it('N days is the end of the local day N days from today, across a daylight-saving change', () => {
    expect(expiryInstant(read('1d'), { now, timeZone: 'Europe/Berlin' })).toEqual(new Date('2026-12-01T23:00:00Z'));
    expect(expiryInstant(read('1d'), { now, timeZone: 'Pacific/Auckland' })).toEqual(new Date('2026-12-01T11:00:00Z'));
    // Two hours later it is already 1 December in Auckland: its "today", and so its 1d, are a day later.
    const later = new Date('2026-11-30T12:00:00Z');
    expect(expiryInstant(read('1d'), { now: later, timeZone: 'Pacific/Auckland' })).toEqual(
      new Date('2026-12-02T11:00:00Z'),
    );
    // Berlin moves to summer time on 29 March 2027: the end of 31 March is 22:00 UTC, not 23:00.
    expect(expiryInstant(read('121d'), { now, timeZone: 'Europe/Berlin' })).toEqual(new Date('2027-03-31T22:00:00Z'));
  });

  it('a date-time is that instant, a never is no expiry', () => {
    expect(expiryInstant(read('2027-01-15T12:30:00+01:00'), { now, timeZone: 'UTC' })).toEqual(
      new Date('2027-01-15T11:30:00Z'),
    );
    expect(expiryInstant(read('never'), { now, timeZone: 'UTC' })).toBeNull();
  });

  it('today is still allowed (its end is ahead), yesterday is past, and five years ahead is the limit', () => {
    const zone = 'Europe/Berlin';
    expect(expiryProblem(expiryInstant(read('2026-11-30'), { now, timeZone: zone })!, { now, timeZone: zone })).toBe(
      undefined,
    );
    expect(expiryProblem(expiryInstant(read('2026-11-29'), { now, timeZone: zone })!, { now, timeZone: zone })).toBe(
      'expiry_past',
    );
    expect(lastValidDay(latestExpiry({ now, timeZone: zone }), zone)).toBe('2031-11-30');
    expect(expiryProblem(expiryInstant(read('2031-11-30'), { now, timeZone: zone })!, { now, timeZone: zone })).toBe(
      undefined,
    );
    expect(expiryProblem(expiryInstant(read('2031-12-01'), { now, timeZone: zone })!, { now, timeZone: zone })).toBe(
      'expiry_too_far',
    );
    expect(expiryProblem(expiryInstant(read('1826d'), { now, timeZone: zone })!, { now, timeZone: zone })).toBe(
      undefined,
    );
    expect(expiryProblem(expiryInstant(read('1827d'), { now, timeZone: zone })!, { now, timeZone: zone })).toBe(
      'expiry_too_far',
    );
  });

  it('what a button carries back and what is hashed is the typed expiry, read back exactly', () => {
    for (const text of ['2026-12-31', '2026-12-31T09:00:00Z', '90d', 'never']) {
      const input = read(text);
      expect(decodeExpiry(encodeExpiry(input))).toEqual(input);
    }
    expect(expiryHashPart(read('never'))).toBeUndefined();
    expect(expiryHashPart(read('90d'))).toBe('days:90');
    for (const bad of ['days:0', 'days:x', 'date:2026-02-30', 'date:2026-12-31T09:00:00Z', 'soon', '']) {
      expect(decodeExpiry(bad)).toBeUndefined();
    }
  });
});

describe('an allowance rule’s expiry', () => {
  const options = { rolloverCapTokens: null, now, timeZone: 'Europe/Berlin' };

  it('a number of days replaces the rollover; a date ends the rule; neither takes a rollover cap above 0', () => {
    expect(allowanceExpiryOf(read('90d'), options)).toEqual({
      ok: true,
      value: { expiresAfterDays: 90, endsOn: null },
    });
    expect(allowanceExpiryOf(read('2027-03-31'), options)).toEqual({
      ok: true,
      value: { expiresAfterDays: null, endsOn: '2027-03-31' },
    });
    expect(allowanceExpiryOf(read('2027-03-31'), { ...options, rolloverCapTokens: 0n }).ok).toBe(true);
    expect(allowanceExpiryOf(read('90d'), { ...options, rolloverCapTokens: 0n })).toMatchObject({
      failure: 'expiry_with_rollover',
    });
    expect(allowanceExpiryOf(read('2027-03-31'), { ...options, rolloverCapTokens: 50n })).toMatchObject({
      failure: 'expiry_with_rollover',
    });
    expect(allowanceExpiryOf(read('2026-11-01'), options)).toMatchObject({
      failure: 'expiry_past',
      detail: { day: '2026-11-01' },
    });
  });

  it('each period’s lot: N days after the period starts, or the end date; nothing for a period after the end date', () => {
    const zone = 'Europe/Berlin';
    const march = { start: new Date('2027-02-28T23:00:00Z'), end: new Date('2027-03-31T22:00:00Z'), timeZone: zone };
    expect(allowanceLotTerms({ expiresAfterDays: 10, endsOn: null, rolloverCapTokens: null }, march)).toEqual({
      issue: true,
      expiresAt: new Date('2027-03-11T23:00:00Z'),
    });
    expect(allowanceLotTerms({ expiresAfterDays: null, endsOn: '2027-03-15', rolloverCapTokens: null }, march)).toEqual(
      { issue: true, expiresAt: new Date('2027-03-15T23:00:00Z') },
    );
    expect(allowanceLotTerms({ expiresAfterDays: null, endsOn: '2027-04-15', rolloverCapTokens: 0n }, march)).toEqual({
      issue: true,
      expiresAt: march.end,
    });
    expect(allowanceLotTerms({ expiresAfterDays: null, endsOn: '2027-02-28', rolloverCapTokens: null }, march)).toEqual(
      { issue: false },
    );
    expect(allowanceLotTerms({ expiresAfterDays: null, endsOn: null, rolloverCapTokens: null }, march)).toEqual({
      issue: true,
    });
    expect(describeAllowanceExpiry({ expiresAfterDays: 90, endsOn: null })).toBe(
      'its tokens expire 90 days after each period starts',
    );
    expect(describeAllowanceExpiry({ expiresAfterDays: null, endsOn: '2027-03-15' })).toBe(
      'it ends on 15 Mar 2027, when its tokens expire',
    );
  });
});
