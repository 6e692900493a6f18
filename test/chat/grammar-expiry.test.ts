import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/chat/grammar.models';
import type { CommandToken } from '../../src/chat/words.models';
import { tokenizeSlackText } from '../../src/slack/slack-text.models';
import { tokenizeCommandText } from '../../src/teams/teams.text.models';

// The expiry at the end of the four commands that credit someone (a grant, a budget issue, an approval,
// an allowance), read the same from Slack's text and from Teams', and the default-expiry setting.

const slack = (text: string): CommandToken[] => tokenizeSlackText(text, 'T1');

describe('an expiry at the end of a command', () => {
  it('/grant-tokens takes “for 90d”, “expires 2026-12-31”, “expires on …” and “expires never” off the reason', () => {
    expect(parseCommand('grant-tokens', slack('<@UANA> 50k shipped it for 90d'))).toMatchObject({
      ok: true,
      command: { amount: 50_000n, reason: 'shipped it', expiry: { kind: 'duration', days: 90 } },
    });
    expect(parseCommand('grant-tokens', slack('<@UANA> 50k expires 2026-12-31'))).toMatchObject({
      ok: true,
      command: { reason: '', expiry: { kind: 'date', year: 2026, month: 12, day: 31 } },
    });
    expect(parseCommand('grant-tokens', slack('<@UANA> 50k thanks expires on 2027-01-15'))).toMatchObject({
      ok: true,
      command: { reason: 'thanks', expiry: { kind: 'date', year: 2027, month: 1, day: 15 } },
    });
    expect(parseCommand('grant-tokens', slack('<@UANA> 50k bonus expires never'))).toMatchObject({
      ok: true,
      command: { reason: 'bonus', expiry: { kind: 'never' } },
    });
  });

  it('without one there is no expiry (the organisation’s default applies), and “for” before other words stays the reason', () => {
    const plain = parseCommand('grant-tokens', slack('<@UANA> 50k thanks for everything'));
    expect(plain).toMatchObject({ ok: true, command: { reason: 'thanks for everything' } });
    expect(plain.ok && 'expiry' in plain.command).toBe(false);
    expect(parseCommand('grant-tokens', slack('<@UANA> 50k for 3 sprints'))).toMatchObject({
      ok: true,
      command: { reason: 'for 3 sprints' },
    });
  });

  it.each([
    ['for 0d', /would expire at once/],
    ['for 1.5d', /not a number of days/],
    ['for -5d', /not a number of days/],
    ['for 9999d', /more than 5 years ahead/],
    ['expires 2026-02-30', /February 2026 has 28 days/],
    ['expires 31/12/2026', /not a date I can read/],
    ['expires soon', /not a date I can read/],
    ['expires 2026', /number, not a date/],
  ])('a grant ending “%s” is refused with what to type instead, not granted without it', (tail, problem) => {
    const parsed = parseCommand('grant-tokens', slack(`<@UANA> 50k thanks ${tail}`));
    expect(parsed).toMatchObject({ ok: false, refusal: { problem: expect.stringMatching(problem) } });
    expect(!parsed.ok && parsed.refusal.usage).toContain('for 90d');
  });

  it('Teams text reads the same expiry as Slack’s', () => {
    const raw = tokenizeCommandText('<at>Ana Lopez</at> 5k thanks for 30d', [
      { type: 'mention', text: '<at>Ana Lopez</at>', mentioned: { id: '29:ana', name: 'Ana Lopez' } },
    ]);
    const tokens: CommandToken[] = raw.map((token) =>
      token.kind === 'word'
        ? token
        : { kind: 'mention', user: { platform: 'teams', externalId: 'aad-ana', workspaceId: 'tenant-1' } },
    );
    const parsed = parseCommand('grant-tokens', tokens);
    expect(parsed).toMatchObject({ ok: true, command: { reason: 'thanks', expiry: { kind: 'duration', days: 30 } } });
  });

  it('/tokens budget and /tokens allowance take one too, and refuse a bad one', () => {
    expect(parseCommand('tokens', slack('budget <@UMIA> 500k Q3 expires 2027-03-31'))).toMatchObject({
      ok: true,
      command: { name: 'tokens-budget', memo: 'Q3', expiry: { kind: 'date', year: 2027, month: 3, day: 31 } },
    });
    expect(parseCommand('tokens', slack('budget <@UMIA> 500k Q3 for 0d'))).toMatchObject({ ok: false });
    expect(parseCommand('tokens', slack('allowance member 200k monthly for 30d'))).toMatchObject({
      ok: true,
      command: { name: 'tokens-allowance', action: 'set', rolloverCap: null, expiry: { kind: 'duration', days: 30 } },
    });
    expect(parseCommand('tokens', slack('allowance member 200k monthly rollover 0 expires 2027-06-30'))).toMatchObject({
      ok: true,
      command: { rolloverCap: 0n, expiry: { kind: 'date', year: 2027, month: 6, day: 30 } },
    });
    expect(parseCommand('tokens', slack('allowance member 200k monthly expires later'))).toMatchObject({ ok: false });
  });

  it('/tokens approve takes a request number (12 or #12) and an optional expiry', () => {
    expect(parseCommand('tokens', slack('approve 12 for 90d'))).toEqual({
      ok: true,
      command: { name: 'tokens-approve', requestId: 12n, expiry: { kind: 'duration', days: 90 } },
    });
    expect(parseCommand('tokens', slack('approve #12'))).toEqual({
      ok: true,
      command: { name: 'tokens-approve', requestId: 12n },
    });
    expect(parseCommand('tokens', slack('approve twelve for 90d'))).toMatchObject({
      ok: false,
      refusal: { problem: 'Give the request number, then the expiry if you want one.' },
    });
    expect(parseCommand('tokens', slack('approve 12 expires yesterday'))).toMatchObject({ ok: false });
  });

  it('/tokens default-expiry shows, sets a number of days, or removes the default; a date is refused', () => {
    expect(parseCommand('tokens', slack('default-expiry'))).toEqual({
      ok: true,
      command: { name: 'tokens-default-expiry', days: undefined },
    });
    expect(parseCommand('tokens', slack('default-expiry 90d'))).toEqual({
      ok: true,
      command: { name: 'tokens-default-expiry', days: 90 },
    });
    expect(parseCommand('tokens', slack('default-expiry none'))).toEqual({
      ok: true,
      command: { name: 'tokens-default-expiry', days: null },
    });
    expect(parseCommand('tokens', slack('default-expiry 2026-12-31'))).toMatchObject({
      ok: false,
      refusal: { problem: expect.stringContaining('The default is a number of days, like 90d, or none.') },
    });
    expect(parseCommand('tokens', slack('default-expiry 0d'))).toMatchObject({ ok: false });
  });
});
