import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/chat/grammar.models';
import type { CommandToken } from '../../src/chat/words.models';
import { tokenizeSlackText } from '../../src/slack/slack-text.models';

const words = (text: string): CommandToken[] => tokenizeSlackText(text, 'T1');
const mention = (id: string, name?: string): CommandToken => ({
  kind: 'mention',
  user: { platform: 'slack', externalId: id, workspaceId: 'T1', displayName: name },
});

describe('grant-tokens', () => {
  it('reads people, an amount and the rest as the reason', () => {
    const parsed = parseCommand('grant-tokens', words('<@UANA> <@UBEN|ben> 50k shipped the migration'));
    expect(parsed).toEqual({
      ok: true,
      command: {
        name: 'grant-tokens',
        recipients: [
          { platform: 'slack', externalId: 'UANA', workspaceId: 'T1', displayName: undefined },
          { platform: 'slack', externalId: 'UBEN', workspaceId: 'T1', displayName: 'ben' },
        ],
        amount: 50_000n,
        reason: 'shipped the migration',
      },
    });
  });

  it('"50 000" pasted with a no-break space is one amount; typed as two words it is a question, not 50,000', () => {
    const pasted = parseCommand('grant-tokens', [mention('UANA'), ...words('50\u00a0000 thanks')]);
    expect(pasted.ok && pasted.command).toMatchObject({ amount: 50_000n, reason: 'thanks' });
    const big = parseCommand('grant-tokens', [mention('UANA'), ...words('1\u202f000\u202f000')]);
    expect(big.ok && big.command).toMatchObject({ amount: 1_000_000n, reason: '' });
    const typed = parseCommand('grant-tokens', [mention('UANA'), ...words('50 000 thanks')]);
    expect(typed).toMatchObject({ ok: false, refusal: { problem: expect.stringContaining('could be one amount') } });
  });

  it('accepts 50,000 and 1.5M, and a word after the number stays the reason', () => {
    expect(parseCommand('grant-tokens', [mention('U1'), ...words('50,000 ok')])).toMatchObject({
      command: { amount: 50_000n },
    });
    expect(parseCommand('grant-tokens', [mention('U1'), ...words('1.5M')])).toMatchObject({
      command: { amount: 1_500_000n },
    });
    expect(parseCommand('grant-tokens', [mention('U1'), ...words('50 apples')])).toMatchObject({
      command: { amount: 50n, reason: 'apples' },
    });
  });

  it.each(['-5', '0', '1.5', '1e999', 'NaN', '0x10', '١٢'])('refuses the amount %s and says what to type', (amount) => {
    const parsed = parseCommand('grant-tokens', [mention('U1'), ...words(amount)]);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.refusal.problem).toMatch(/50k|whole number/);
      expect(parsed.refusal.usage).toContain('/grant-tokens');
    }
  });

  it('refuses a grant naming nobody, and a name typed as text rather than picked', () => {
    const nobody = parseCommand('grant-tokens', words('50k thanks'));
    expect(nobody).toMatchObject({
      ok: false,
      refusal: { problem: expect.stringContaining('Name at least one person') },
    });
    const typed = parseCommand('grant-tokens', words('@ana 50k'));
    expect(typed).toMatchObject({ ok: false, refusal: { problem: expect.stringContaining('@ana') } });
    const noAmount = parseCommand('grant-tokens', [mention('U1')]);
    expect(noAmount).toMatchObject({ ok: false, refusal: { problem: expect.stringContaining('No amount') } });
  });

  it('names the same person twice only once', () => {
    const parsed = parseCommand('grant-tokens', [mention('U1'), mention('U1', 'x'), ...words('5')]);
    expect(parsed.ok && parsed.command.name === 'grant-tokens' && parsed.command.recipients).toHaveLength(1);
  });
});

describe('other commands', () => {
  it('balance takes nothing or one person', () => {
    expect(parseCommand('balance', [])).toEqual({ ok: true, command: { name: 'balance', target: null } });
    expect(parseCommand('balance', [mention('U1')])).toMatchObject({
      ok: true,
      command: { target: { externalId: 'U1' } },
    });
    expect(parseCommand('balance', words('everyone'))).toMatchObject({ ok: false });
  });

  it('request-tokens reads an amount and a reason', () => {
    expect(parseCommand('request-tokens', words('200k eval runs'))).toEqual({
      ok: true,
      command: { name: 'request-tokens', amount: 200_000n, reason: 'eval runs' },
    });
    expect(parseCommand('request-tokens', words('lots please'))).toMatchObject({ ok: false });
    expect(parseCommand('request-tokens', [])).toMatchObject({ ok: false });
  });

  it('leaderboard takes week, month or quarter', () => {
    expect(parseCommand('leaderboard', [])).toMatchObject({ command: { window: 'week' } });
    expect(parseCommand('leaderboard', words('Quarter'))).toMatchObject({ command: { window: 'quarter' } });
    expect(parseCommand('leaderboard', words('year'))).toMatchObject({ ok: false });
  });

  it('tokens has help, role, manager and budget, each with a usage on mistakes', () => {
    expect(parseCommand('tokens', [])).toEqual({ ok: true, command: { name: 'tokens-help' } });
    expect(parseCommand('tokens', [...words('role'), mention('U1'), ...words('Manager')])).toMatchObject({
      command: { name: 'tokens-role', role: 'manager' },
    });
    expect(parseCommand('tokens', [...words('role'), mention('U1'), ...words('boss')])).toMatchObject({
      ok: false,
      refusal: { usage: expect.stringContaining('admin|manager|member') },
    });
    expect(parseCommand('tokens', [...words('manager'), mention('U1'), mention('U2')])).toMatchObject({
      command: { name: 'tokens-manager', manager: { externalId: 'U2' } },
    });
    expect(parseCommand('tokens', [...words('manager'), mention('U1'), ...words('none')])).toMatchObject({
      command: { name: 'tokens-manager', manager: null },
    });
    expect(parseCommand('tokens', [...words('budget'), mention('U1'), ...words('500,000 Q3 budget')])).toMatchObject({
      command: { name: 'tokens-budget', amount: 500_000n, memo: 'Q3 budget' },
    });
    expect(parseCommand('tokens', words('dance'))).toMatchObject({
      ok: false,
      refusal: { usage: expect.stringContaining('/tokens help') },
    });
  });
});

describe('Slack command text', () => {
  it('reads both mention forms, and keeps <!channel> and links as plain words', () => {
    expect(words('<@U123ABC> <@W9|ana b> <!channel> <#C1|general> <https://x.test|site> a&amp;b &lt;b&gt;')).toEqual([
      {
        kind: 'mention',
        user: { platform: 'slack', externalId: 'U123ABC', workspaceId: 'T1', displayName: undefined },
      },
      { kind: 'mention', user: { platform: 'slack', externalId: 'W9', workspaceId: 'T1', displayName: 'ana b' } },
      { kind: 'word', text: '<!channel>' },
      { kind: 'word', text: '#general', channelId: 'C1' },
      { kind: 'word', text: 'site' },
      { kind: 'word', text: 'a&b' },
      { kind: 'word', text: '<b>' },
    ]);
  });

  it('a pasted mention in a reason becomes text, never a mention in a reply', () => {
    const parsed = parseCommand('grant-tokens', words('<@U1> 5 thanks <@U2|boss> <!here>'));
    expect(parsed).toMatchObject({ ok: true, command: { reason: 'thanks @boss <!here>' } });
  });
});
