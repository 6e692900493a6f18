import { describe, expect, it } from 'vitest';
import { formatTokens, parseAmount, readLeadingAmount } from '../../src/ledger/amount.models';
import { transferTokensMax } from '../../src/ledger/ledger.tables';

describe('amounts typed by people', () => {
  it.each([
    ['50k', 50_000n],
    ['50K', 50_000n],
    ['1.5M', 1_500_000n],
    ['1.5m', 1_500_000n],
    ['2B', 2_000_000_000n],
    ['50,000', 50_000n],
    ['50 000', 50_000n],
    ['50\u00a0000', 50_000n],
    ['1\u202f000\u202f000', 1_000_000n],
    ['1\u2009000', 1_000n],
    ['1,000,000', 1_000_000n],
    ['50000', 50_000n],
    ['  700  ', 700n],
    ['1', 1n],
    ['1000B', transferTokensMax],
    ['1,000,000,000,000', transferTokensMax],
  ])('"%s" is read as %s tokens', (text, expected) => {
    expect(parseAmount(text)).toEqual({ ok: true, amount: expected });
  });

  it.each([
    ['-5', 'negative'],
    ['0', 'zero'],
    ['0k', 'zero'],
    ['1.5', 'fraction'],
    ['1e3', 'not an amount'],
    ['1e999', 'not an amount'],
    ['NaN', 'not an amount'],
    ['0x10', 'not an amount'],
    ['Infinity', 'not an amount'],
    ['١٢', 'not an amount'],
    ['１２', 'not an amount'],
    ['10abc', 'not an amount'],
    ['1,00', 'not an amount'],
    ['50,000 000', 'not an amount'],
    ['50\u00a0000,000', 'not an amount'],
    ['50\u3000000', 'not an amount'],
    ['1.2345k', 'not a whole number'],
    ['1000000000001', 'more than the most'],
    ['1001B', 'more than the most'],
    ['', 'No amount'],
    ['9'.repeat(40), 'too long'],
  ])('"%s" is refused as %s, with a message saying what to type', (text, why) => {
    const parsed = parseAmount(text);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.failure).toBe('amount_invalid');
    expect(parsed.message).toContain(why);
    expect(parsed.message).toContain('Type a whole number of tokens, like 50000, 50k');
  });

  it('a refused amount is quoted back short, however long it was typed', () => {
    const parsed = parseAmount(`1${'0'.repeat(200)}`);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message.length).toBeLessThan(200);
  });

  it('balances are shown with thousands separators, negative ones with a minus', () => {
    expect(formatTokens(1_234_567n)).toBe('1,234,567');
    expect(formatTokens(-5_000n)).toBe('-5,000');
    expect(formatTokens(0n)).toBe('0');
  });
});

describe('an amount followed by other words (the one rule for chat and the CLI)', () => {
  it('the amount is the first word alone; a word that cannot continue it is left for what follows', () => {
    expect(readLeadingAmount(['50k', '3', 'PRs'], 'reason')).toEqual({ ok: true, amount: 50_000n });
    expect(readLeadingAmount(['50', 'apples'], 'reason')).toEqual({ ok: true, amount: 50n });
    expect(readLeadingAmount(['50000', '100'], 'reason')).toEqual({ ok: true, amount: 50_000n });
    expect(readLeadingAmount(['50 000', '100'], 'reason')).toMatchObject({ failure: 'amount_ambiguous' });
  });

  it('a next word that could continue the amount makes it ambiguous, with both readings', () => {
    expect(readLeadingAmount(['50', '100', 'commits'], 'reason')).toMatchObject({
      ok: false,
      failure: 'amount_ambiguous',
      readings: { alone: 50n, joined: { typed: '50100', amount: 50_100n } },
    });
    expect(readLeadingAmount(['999,999,999', '999'], 'other')).toMatchObject({
      failure: 'amount_ambiguous',
      readings: { alone: 999_999_999n, joined: { typed: '999999999999', amount: 999_999_999_999n } },
    });
  });

  it('for the CLI grant, the word after the amount is a member: the message says to name them by email', () => {
    const read = readLeadingAmount(['50', '100', 'ana@acme.test'], 'member');
    expect(read.ok || read.message).toBe(
      '“50 100” could be one amount, 50,100 tokens, or 50 tokens to member 100, so nothing was done. ' +
        'For 50,100 tokens type 50100; for 50 tokens each, name member 100 by email.',
    );
  });

  it('a bad amount is refused as such before any ambiguity', () => {
    expect(readLeadingAmount(['-5', '100'], 'reason')).toMatchObject({ failure: 'amount_invalid' });
    expect(readLeadingAmount([], 'reason')).toMatchObject({ failure: 'amount_invalid' });
  });
});
