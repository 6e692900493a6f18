import { describe, expect, it } from 'vitest';
import { message, text } from '../../src/notify/message.models';
import { escapeCardText, parseCardActionData, presentCard } from '../../src/teams/teams.cards.models';
import {
  backoffDelayMs,
  ConversationLimiter,
  classifyConnectorError,
  defaultRetryPolicy,
  withConnectorRetries,
} from '../../src/teams/teams.delivery';
import { mentionEntities, tokenizeCommandText } from '../../src/teams/teams.text.models';

describe('reading what people type to the bot', () => {
  const ana = { type: 'mention' as const, text: '<at>Ana Lopez</at>', mentioned: { id: '29:ana', name: 'Ana Lopez' } };

  it('a command with a leading slash reads the same as one without', () => {
    expect(tokenizeCommandText('/grant-tokens 50k', [])).toEqual(tokenizeCommandText('grant-tokens 50k', []));
    expect(tokenizeCommandText(' / balance', [])).toEqual([{ kind: 'word', text: 'balance' }]);
  });

  it('people come from the mention entities; a typed <at> tag with no entity names nobody', () => {
    const tokens = tokenizeCommandText('grant-tokens <at>Ana Lopez</at> <at>Ben</at> 50k for the &lt;migration&gt;', [
      ana,
    ]);
    expect(tokens).toEqual([
      { kind: 'word', text: 'grant-tokens' },
      { kind: 'mention', mentionedId: '29:ana', name: 'Ana Lopez' },
      { kind: 'word', text: 'Ben' },
      { kind: 'word', text: '50k' },
      { kind: 'word', text: 'for' },
      { kind: 'word', text: 'the' },
      { kind: 'word', text: '<migration>' },
    ]);
  });

  it('an entity is used once, so one mention in the text cannot become two people', () => {
    const tokens = tokenizeCommandText('<at>Ana Lopez</at> <at>Ana Lopez</at>', [ana]);
    expect(tokens.filter((token) => token.kind === 'mention')).toHaveLength(1);
  });

  it("the bot's own mention is taken out of the command wherever it stands, and malformed entities are ignored", () => {
    const entities = mentionEntities([
      { type: 'mention', text: '<at>Allot</at>', mentioned: { id: '28:bot', name: 'Allot' } },
      ana,
      { type: 'mention', text: '<at>x</at>' },
      { type: 'clientInfo', locale: 'en-US' },
      null,
    ]);
    expect(entities).toEqual([
      { type: 'mention', text: '<at>Allot</at>', mentioned: { id: '28:bot', name: 'Allot' } },
      ana,
    ]);
    const bot = { id: '28:bot', name: 'Allot' };
    expect(tokenizeCommandText('<at>Allot</at> balance <at>Ana Lopez</at>', entities, bot)).toEqual([
      { kind: 'word', text: 'balance' },
      { kind: 'mention', mentionedId: '29:ana', name: 'Ana Lopez' },
    ]);
    expect(tokenizeCommandText('balance <at>Ana Lopez</at> <at>Allot</at>', entities, bot)).toEqual([
      { kind: 'word', text: 'balance' },
      { kind: 'mention', mentionedId: '29:ana', name: 'Ana Lopez' },
    ]);
  });

  it('hostile input is bounded', () => {
    const many = Array.from({ length: 1_000 }, (_, index) => ({
      type: 'mention' as const,
      mentioned: { id: `29:${index}`, name: 'x' },
    }));
    expect(mentionEntities(many)).toHaveLength(200);
    expect(tokenizeCommandText('<at>x</at> '.repeat(2_000), mentionEntities(many)).length).toBeLessThanOrEqual(120);
    const tokens = tokenizeCommandText('x '.repeat(100_000), []);
    expect(tokens.length).toBeLessThanOrEqual(120);
  });
});

describe('Adaptive Cards from the neutral message', () => {
  it('is version 1.5 with Action.Execute buttons that fall back to Action.Submit', () => {
    const card = presentCard(
      message(
        'Ana asks for 200k',
        { type: 'header', text: 'Top-up request' },
        {
          type: 'actions',
          actions: [
            { id: 'request.approve', label: 'Approve', value: '42', style: 'primary' },
            { id: 'request.deny', label: 'Deny', value: '42', style: 'danger' },
          ],
        },
      ),
    );
    expect(card.version).toBe('1.5');
    const set = card.body.find((element) => element.type === 'ActionSet') as { actions: Record<string, unknown>[] };
    expect(set.actions[0]).toEqual({
      type: 'Action.Execute',
      title: 'Approve',
      verb: 'request.approve',
      data: { allot: { action: 'request.approve', value: '42' } },
      style: 'positive',
      fallback: {
        type: 'Action.Submit',
        title: 'Approve',
        data: { allot: { action: 'request.approve', value: '42' } },
        style: 'positive',
      },
    });
    expect(set.actions[1]).toMatchObject({ style: 'destructive' });
    // Deny takes an optional reason, typed in a text box on the card itself.
    expect(card.body).toContainEqual(expect.objectContaining({ type: 'Input.Text', id: 'allotNote' }));
  });

  it('user text can neither format nor mention', () => {
    const hostile = '<at>Everyone</at> **bold** [link](http://x) _i_';
    const card = presentCard(message('x', text([hostile])));
    const rendered = (card.body[0] as { text: string }).text;
    expect(rendered).not.toContain('<at>');
    expect(rendered).not.toContain('**');
    expect(rendered).toBe(escapeCardText(hostile));
    expect(card.msteams.entities).toBeUndefined();
  });

  it('a member with a Teams identity becomes a real mention with its entity', () => {
    const card = presentCard(message('x', text(['Granted to ', { member: { id: 7n, name: 'Ana <b>' } }])), {
      mentions: new Map([[7n, { id: 'aad-ana', name: 'Ana <b>' }]]),
    });
    expect((card.body[0] as { text: string }).text).toBe('Granted to <at>Ana b</at>');
    expect(card.msteams.entities).toEqual([
      { type: 'mention', text: '<at>Ana b</at>', mentioned: { id: 'aad-ana', name: 'Ana b' } },
    ]);
  });

  it('reads back only Allot button data', () => {
    expect(parseCardActionData({ allot: { action: 'request.approve', value: '1' } })).toEqual({
      action: 'request.approve',
      value: '1',
    });
    expect(parseCardActionData({ allot: { action: 'request.deny', value: '1' }, allotNote: '  too much  ' })).toEqual({
      action: 'request.deny',
      value: '1',
      note: 'too much',
    });
    // A note only travels with buttons that take one.
    expect(parseCardActionData({ allot: { action: 'request.approve', value: '1' }, allotNote: 'x' })).toEqual({
      action: 'request.approve',
      value: '1',
    });
    expect(parseCardActionData({ action: 'x' })).toBeUndefined();
    expect(parseCardActionData({ allot: { action: 'x', value: 5 } })).toBeUndefined();
    expect(parseCardActionData('text')).toBeUndefined();
  });
});

function restError(status: number, headers: Record<string, string> = {}, body?: unknown) {
  return Object.assign(new Error(`status ${status}`), {
    statusCode: status,
    response: { headers: new Map(Object.entries(headers)), bodyAsText: body ? JSON.stringify(body) : undefined },
  });
}

describe('delivery policy', () => {
  it('sorts connector errors: 429, 412, 502 and 504 retry; 403 is unreachable', () => {
    for (const status of [429, 412, 502, 504]) expect(classifyConnectorError(restError(status)).kind).toBe('retry');
    const blocked = classifyConnectorError(restError(403, {}, { error: { code: 'MessageWritesBlocked' } }));
    expect(blocked).toMatchObject({ kind: 'unreachable', code: 'MessageWritesBlocked' });
    expect(classifyConnectorError(restError(400)).kind).toBe('fatal');
    expect(classifyConnectorError(restError(429, { 'retry-after': '2' })).retryAfterMs).toBe(2000);
    expect(classifyConnectorError(Object.assign(new Error('x'), { code: 'ECONNRESET' })).kind).toBe('retry');
  });

  it('backs off exponentially with jitter, or as Retry-After says', () => {
    const policy = { attemptsMax: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelayMs(policy, 1, undefined, () => 0)).toBe(50);
    expect(backoffDelayMs(policy, 3, undefined, () => 0.999)).toBeLessThanOrEqual(400);
    expect(backoffDelayMs(policy, 10, undefined, () => 1)).toBe(1000);
    expect(backoffDelayMs(policy, 1, 3000, () => 0)).toBe(3000);
  });

  it('gives up after the bounded number of attempts', async () => {
    let calls = 0;
    const result = await withConnectorRetries(
      async () => {
        calls += 1;
        throw restError(502);
      },
      { attemptsMax: 3, baseDelayMs: 1, maxDelayMs: 2 },
    );
    expect(result.ok).toBe(false);
    expect(calls).toBe(3);
    expect(defaultRetryPolicy.attemptsMax).toBeGreaterThan(1);
  });

  it('never sends more than the window allows to one conversation, while others go ahead', async () => {
    const limiter = new ConversationLimiter([{ count: 7, ms: 300 }]);
    const started = performance.now();
    const times: number[] = [];
    let other = Number.POSITIVE_INFINITY;
    await Promise.all([
      ...Array.from({ length: 10 }, () => limiter.run('a', async () => times.push(performance.now() - started))),
      limiter.run('b', async () => {
        other = performance.now() - started;
      }),
    ]);
    times.sort((x, y) => x - y);
    expect(times.slice(0, 7).every((time) => time < 250)).toBe(true);
    expect(times[7]!).toBeGreaterThanOrEqual(295);
    // A different conversation is not held up by the first one's window.
    expect(other).toBeLessThan(250);
  });
});
