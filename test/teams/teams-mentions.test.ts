import { describe, expect, it } from 'vitest';
import { mentionEntities, type RawToken, tokenizeCommandText } from '../../src/teams/teams.text.models';

// Mention entities as Teams really sends them: without `text` for some names, split into one entity
// per word for others, names HTML-escaped in the text. Mention text is presentation; who is named
// comes from `mentioned.id`, and no piece of a mention's text is read as a word of the command.

const bot = { id: '28:bot', name: 'Allot' };
const botEntity = { type: 'mention', text: '<at>Allot</at>', mentioned: bot };
const mia = { id: '29:mia', name: 'Mia Manager' };
const tom = { id: '29:tom', name: 'Tom & Jerry' };

const read = (text: string, entities: unknown[]) => tokenizeCommandText(text, mentionEntities(entities), bot);
const people = (tokens: RawToken[]) => tokens.filter((token) => token.kind === 'mention');
const words = (tokens: RawToken[]) => tokens.flatMap((token) => (token.kind === 'word' ? [token.text] : []));

describe('mention entities as Teams sends them', () => {
  it('an entity with no text still names the person its tag presents, by the name Teams escaped in the text', () => {
    const tokens = read('<at>Allot</at> balance <at>Tom &amp; Jerry</at>', [
      botEntity,
      { type: 'mention', mentioned: tom },
    ]);
    expect(tokens).toEqual([
      { kind: 'word', text: 'balance' },
      { kind: 'mention', mentionedId: '29:tom', name: 'Tom & Jerry' },
    ]);
  });

  it('an entity whose text is unescaped pairs with the escaped tag in the message', () => {
    const tokens = read('grant-tokens <at>Tom &amp; Jerry</at> 50', [
      { type: 'mention', text: '<at>Tom & Jerry</at>', mentioned: tom },
    ]);
    expect(people(tokens)).toEqual([{ kind: 'mention', mentionedId: '29:tom', name: 'Tom & Jerry' }]);
    expect(words(tokens)).toEqual(['grant-tokens', '50']);
  });

  it('one person split into two entities with the same id is one person, named once', () => {
    const tokens = read('<at>Allot</at> tokens budget <at>Mia</at> <at>Manager</at> 1000', [
      botEntity,
      { type: 'mention', text: '<at>Mia</at>', mentioned: mia },
      { type: 'mention', text: '<at>Manager</at>', mentioned: mia },
    ]);
    expect(tokens).toEqual([
      { kind: 'word', text: 'tokens' },
      { kind: 'word', text: 'budget' },
      { kind: 'mention', mentionedId: '29:mia', name: 'Mia Manager' },
      { kind: 'word', text: '1000' },
    ]);
  });

  it('a split name whose entities carry no text is one person too', () => {
    const tokens = read('tokens role <at>Mia</at> <at>Manager</at> manager', [
      { type: 'mention', mentioned: mia },
      { type: 'mention', mentioned: mia },
    ]);
    expect(people(tokens)).toEqual([{ kind: 'mention', mentionedId: '29:mia', name: 'Mia Manager' }]);
    expect(words(tokens)).toEqual(['tokens', 'role', 'manager']);
  });

  it('two different people side by side stay two, and a split name beside another person is still one', () => {
    const tokens = read('grant-tokens <at>Mia</at> <at>Manager</at> <at>Tom &amp; Jerry</at> 5k', [
      { type: 'mention', text: '<at>Mia</at>', mentioned: mia },
      { type: 'mention', text: '<at>Manager</at>', mentioned: mia },
      { type: 'mention', mentioned: tom },
    ]);
    expect(people(tokens).map((token) => token.kind === 'mention' && token.mentionedId)).toEqual(['29:mia', '29:tom']);
    expect(words(tokens)).toEqual(['grant-tokens', '5k']);
  });

  it('the same person named twice apart (in a reason) stays where they were named', () => {
    const tokens = read('grant-tokens <at>Mia</at> 5k thanks <at>Mia</at>', [
      { type: 'mention', text: '<at>Mia</at>', mentioned: mia },
      { type: 'mention', text: '<at>Mia</at>', mentioned: mia },
    ]);
    expect(tokens.map((token) => (token.kind === 'word' ? token.text : `@${token.mentionedId}`))).toEqual([
      'grant-tokens',
      '@29:mia',
      '5k',
      'thanks',
      '@29:mia',
    ]);
  });

  it("the bot's mention is removed even without text, split, or escaped, and never left as words", () => {
    const botNamed = { id: '28:bot', name: 'Allot & Co' };
    const tokens = tokenizeCommandText(
      '<at>Allot</at> <at>&amp;</at> <at>Co</at> balance',
      mentionEntities([
        { type: 'mention', mentioned: botNamed },
        { type: 'mention', mentioned: botNamed },
        { type: 'mention', mentioned: botNamed },
      ]),
      botNamed,
    );
    expect(tokens).toEqual([{ kind: 'word', text: 'balance' }]);
    // No entity at all for the bot (some clients), but the tag reads as its name.
    expect(tokenizeCommandText('<at>Allot</at> balance', [], bot)).toEqual([{ kind: 'word', text: 'balance' }]);
  });

  it('an Entra object id on the mentioned account is carried along as the identity', () => {
    const tokens = read('balance <at>Ana</at>', [
      { type: 'mention', text: '<at>Ana</at>', mentioned: { id: '29:ana', name: 'Ana', aadObjectId: 'aad-ana' } },
    ]);
    expect(people(tokens)).toEqual([{ kind: 'mention', mentionedId: '29:ana', name: 'Ana', aadObjectId: 'aad-ana' }]);
  });
});
