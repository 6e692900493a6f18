import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/chat/grammar.models';
import { type CommandToken, splitCommandWords } from '../../src/chat/words.models';
import { tokenizeSlackText } from '../../src/slack/slack-text.models';
import { mentionEntities, tokenizeCommandText } from '../../src/teams/teams.text.models';

// The amount rule (issue #11.1), in every chat command that reads an amount: an amount is one word; a
// space inside a word is a thousands separator only when it is a no-break, narrow no-break or thin
// space; and when the word after a complete amount could continue it, the command is refused with both
// readings instead of guessing. Never a different amount than the person typed as a number.

const slackWords = (text: string): CommandToken[] => tokenizeSlackText(text, 'T1');
const mention = (id: string): CommandToken => ({
  kind: 'mention',
  user: { platform: 'slack', externalId: id, workspaceId: 'T1' },
});

/** Each command that reads an amount, with the amount words (and what follows) put where it belongs. */
const commands = {
  '/grant-tokens': (words: string) => parseCommand('grant-tokens', [mention('UANA'), ...slackWords(words)]),
  '/request-tokens': (words: string) => parseCommand('request-tokens', slackWords(words)),
  '/tokens budget': (words: string) =>
    parseCommand('tokens', [...slackWords('budget'), mention('UMIA'), ...slackWords(words)]),
} as const;
type CommandLabel = keyof typeof commands;
const labels = Object.keys(commands) as CommandLabel[];

const amountOf = (result: ReturnType<typeof parseCommand>) =>
  result.ok && 'amount' in result.command ? result.command.amount : undefined;
const textAfter = (result: ReturnType<typeof parseCommand>) =>
  result.ok && 'reason' in result.command
    ? result.command.reason
    : result.ok && 'memo' in result.command
      ? result.command.memo
      : undefined;
const problemOf = (result: ReturnType<typeof parseCommand>) => (result.ok ? '' : result.refusal.problem);

describe.each(labels)('the amount rule in %s', (label) => {
  const run = commands[label];

  it('"50 100 commits reviewed" is refused as ambiguous, showing 50,100 and 50 and what to type for each', () => {
    const result = run('50 100 commits reviewed');
    expect(result.ok).toBe(false);
    expect(problemOf(result)).toBe(
      '“50 100” could be one amount, 50,100 tokens, or 50 tokens with a reason that starts with “100”, so nothing ' +
        'was done. For 50,100 tokens type 50100; for 50 tokens put a word before the reason, like: 50 for 100 commits reviewed',
    );
  });

  it('the two suggested commands each read as the reading they name', () => {
    expect(amountOf(run('50100 commits reviewed'))).toBe(50_100n);
    const alone = run('50 for 100 commits reviewed');
    expect([amountOf(alone), textAfter(alone)]).toEqual([50n, 'for 100 commits reviewed']);
  });

  it.each([
    ['no-break space U+00A0', '1\u00a0000 thanks'],
    ['narrow no-break space U+202F', '1\u202f000 thanks'],
    ['thin space U+2009', '1\u2009000 thanks'],
  ])('"1 000" with a %s inside one word is one amount of 1,000', (_name, words) => {
    const result = run(words);
    expect([amountOf(result), textAfter(result)]).toEqual([1_000n, 'thanks']);
  });

  it('"50 000" typed as two words is refused as ambiguous (50,000 or 50), never read as either', () => {
    const result = run('50 000 thanks');
    expect(result.ok).toBe(false);
    expect(problemOf(result)).toMatch(/^“50 000” could be one amount, 50,000 tokens, or 50 tokens .*type 50000;/);
  });

  it('"50k 3 PRs merged": a reason that starts with a number is normal after an amount with a suffix', () => {
    const result = run('50k 3 PRs merged');
    expect([amountOf(result), textAfter(result)]).toEqual([50_000n, '3 PRs merged']);
  });

  it('"50,000 100 commits" is refused as ambiguous: 50,000,100 or 50,000', () => {
    expect(problemOf(run('50,000 100 commits'))).toMatch(
      /^“50,000 100” could be one amount, 50,000,100 tokens, or 50,000 tokens with a reason that starts with “100”.*type 50000100;.*like: 50,000 for 100 commits$/,
    );
  });

  it.each([
    ['50000 100 commits', 50_000n, '100 commits'],
    ['50 1000 commits', 50n, '1000 commits'],
    ['50 apples', 50n, 'apples'],
    ['1.5M 100 runs', 1_500_000n, '100 runs'],
    ['50 10 PRs', 50n, '10 PRs'],
    ['50 100% done', 50n, '100% done'],
    ['50 100km run', 50n, '100km run'],
  ])('"%s" is not ambiguous: %s tokens, then "%s"', (words, amount, after) => {
    const result = run(words);
    expect([amountOf(result), textAfter(result)]).toEqual([amount, after]);
  });

  it.each([['1 000 000'], ['50 100k'], ['50 000,000 budget'], ['1\u00a0000 500']])(
    '"%s" is refused as ambiguous',
    (words) => {
      expect(problemOf(run(words))).toContain('could be one amount');
    },
  );
});

describe('the amount rule in /tokens allowance', () => {
  const run = (words: string) => parseCommand('tokens', slackWords(`allowance member ${words}`));

  it('"50 100 monthly" and "50 000 monthly" are refused as ambiguous, with what to type', () => {
    expect(problemOf(run('50 100 monthly'))).toBe(
      '“50 100” could be one amount, 50,100 tokens, or 50 tokens followed by “100”, so nothing was done. ' +
        'For 50,100 tokens type 50100.',
    );
    expect(problemOf(run('50 000 monthly'))).toContain('type 50000');
  });

  it('"1 000" with a no-break space is 1,000; a rollover cap follows the same rule', () => {
    expect(amountOf(run('1\u00a0000 monthly'))).toBe(1_000n);
    expect(run('50k monthly rollover 10\u202f000')).toMatchObject({ ok: true, command: { rolloverCap: 10_000n } });
    expect(problemOf(run('50k monthly rollover 10 000'))).toMatch(/^“10 000” could be one amount, 10,000 tokens/);
  });
});

describe('words, as both platforms split them', () => {
  it('a grouping space between two digits stays inside the word; every other space separates words', () => {
    expect(splitCommandWords('50\u00a0000 for\u00a0lunch  and 1 000')).toEqual([
      '50\u00a0000',
      'for',
      'lunch',
      'and',
      '1',
      '000',
    ]);
    expect(splitCommandWords('1\u202f000\u202f000\u2009x 5\u00a0\u00a0000')).toEqual([
      '1\u202f000\u202f000',
      'x',
      '5',
      '000',
    ]);
  });

  it('Slack: a pasted "1 000" next to a mention is one word', () => {
    expect(slackWords('<@UANA>\u00a01\u00a0000 thanks')).toEqual([
      mention('UANA'),
      { kind: 'word', text: '1\u00a0000' },
      { kind: 'word', text: 'thanks' },
    ]);
  });

  it('Teams: a pasted no-break space character keeps "1 000" whole; &nbsp; written by the editor separates words', () => {
    const entities = mentionEntities([]);
    expect(
      tokenizeCommandText('grant-tokens 1\u00a0000 thanks', entities).map((t) => t.kind === 'word' && t.text),
    ).toEqual(['grant-tokens', '1\u00a0000', 'thanks']);
    expect(tokenizeCommandText('grant-tokens 50&nbsp;100 x', entities).map((t) => t.kind === 'word' && t.text)).toEqual(
      ['grant-tokens', '50', '100', 'x'],
    );
    expect(tokenizeCommandText('grant-tokens 50&#160;100 x', entities).map((t) => t.kind === 'word' && t.text)).toEqual(
      ['grant-tokens', '50', '100', 'x'],
    );
  });
});
