import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/chat/grammar.models';
import type { CommandToken } from '../../src/chat/words.models';

const words = (text: string): CommandToken[] =>
  text
    .split(/\s+/)
    .filter(Boolean)
    .map((word) => ({ kind: 'word', text: word }));
const channel: CommandToken = { kind: 'word', text: '#general', channelId: 'C0GEN' };

describe('the digest and allowance grammar', () => {
  it('reads a quoted cron expression, straight or curly, then the time zone', () => {
    for (const quoted of ['"0 9 * * MON"', '“0 9 * * MON”', "'0 9 * * MON'"]) {
      expect(parseCommand('tokens', [...words('digest'), channel, ...words(`${quoted} Europe/Berlin`)])).toEqual({
        ok: true,
        command: {
          name: 'tokens-digest',
          action: 'set',
          channelId: 'C0GEN',
          cron: '0 9 * * MON',
          timeZone: 'Europe/Berlin',
        },
      });
    }
    expect(parseCommand('tokens', words('digest 0 9 * * MON UTC'))).toMatchObject({
      ok: true,
      command: { channelId: null, cron: '0 9 * * MON', timeZone: 'UTC' },
    });
  });

  it('refuses a schedule without a time zone, a typed channel name, or a person', () => {
    expect(parseCommand('tokens', words('digest "0 9 * * MON"'))).toMatchObject({ ok: false });
    expect(parseCommand('tokens', words('digest #general "0 9 * * MON" UTC'))).toMatchObject({
      ok: false,
      refusal: { problem: expect.stringContaining('Pick it from the # list') },
    });
    expect(
      parseCommand('tokens', [
        ...words('digest'),
        { kind: 'mention', user: { platform: 'slack', externalId: 'U1', workspaceId: 'T1' } },
      ]),
    ).toMatchObject({ ok: false, refusal: { problem: 'A digest goes to a channel, not to a person.' } });
  });

  it('reads off, preview and the bare listing', () => {
    expect(parseCommand('tokens', words('digest'))).toEqual({
      ok: true,
      command: { name: 'tokens-digest', action: 'show' },
    });
    expect(parseCommand('tokens', words('digest preview'))).toEqual({
      ok: true,
      command: { name: 'tokens-digest', action: 'preview' },
    });
    expect(parseCommand('tokens', [...words('digest off'), channel])).toEqual({
      ok: true,
      command: { name: 'tokens-digest', action: 'off', channelId: 'C0GEN' },
    });
  });

  it('reads an allowance for a role or a person, with an optional rollover cap', () => {
    expect(parseCommand('tokens', words('allowance members 200k monthly rollover 50k'))).toEqual({
      ok: true,
      command: {
        name: 'tokens-allowance',
        action: 'set',
        target: { role: 'member' },
        amount: 200_000n,
        period: 'monthly',
        rolloverCap: 50_000n,
      },
    });
    expect(parseCommand('tokens', words('allowance manager 1,000 weekly rollover 0'))).toMatchObject({
      ok: true,
      command: { target: { role: 'manager' }, amount: 1_000n, period: 'weekly', rolloverCap: 0n },
    });
    expect(parseCommand('tokens', words('allowance member 10k fortnightly'))).toMatchObject({ ok: false });
    expect(parseCommand('tokens', words('allowance member -5 weekly'))).toMatchObject({ ok: false });
    expect(parseCommand('tokens', words('allowance off members'))).toEqual({
      ok: true,
      command: { name: 'tokens-allowance', action: 'off', target: { role: 'member' } },
    });
  });
});
