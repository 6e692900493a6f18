// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { type ChatMessage, type Line, plainText } from '../../src/notify/message.models';
import { presentCard, type TeamsMention } from '../../src/teams/teams.cards.models';
import { hostileNames, messageGallery } from '../support/message-gallery';
import { renderCard, visibleText } from '../support/render-card';

// What people see in Teams, not the card JSON: every message Allot builds, naming people with names
// that break naive Markdown, rendered by Microsoft's Adaptive Cards renderer with a CommonMark
// processor (see test/support/render-card.ts). Each text shows exactly what was meant, bold where
// Allot made it bold and nowhere else, with no stray `*`, no link, list, heading or HTML.

const collapse = (text: string) => text.replace(/\s+/g, ' ').trim();

/** The name Teams shows for a mention the presenter built (it strips angle brackets from the tag). */
const mentionName = (name: string) => name.replace(/[<>]/g, '').trim() || 'someone';

interface Expected {
  text: string;
  bold: string[];
  italic: string[];
}

/** What each TextBlock of the card should show, in order (FactSet titles and values included). */
function expectedBlocks(message: ChatMessage, mentions: ReadonlyMap<bigint, TeamsMention>): Expected[] {
  const ofLine = (line: Line): Expected => {
    const bold: string[] = [];
    const italic: string[] = [];
    const shown = line.map((span) => {
      if (typeof span === 'object' && 'member' in span) {
        const mention = mentions.get(span.member.id);
        if (mention) return mentionName(mention.name);
        bold.push(span.member.name.trim());
        return span.member.name;
      }
      if (typeof span === 'object' && 'bold' in span && span.bold.trim()) bold.push(span.bold.trim());
      if (typeof span === 'object' && 'italic' in span && span.italic.trim()) italic.push(span.italic.trim());
      return plainText([span]);
    });
    return { text: collapse(shown.join('')), bold: bold.filter(Boolean), italic };
  };
  const plain = (text: string): Expected => ({ text: collapse(text), bold: [], italic: [] });
  const blocks = message.blocks.flatMap((block): Expected[] => {
    switch (block.type) {
      case 'header':
        return [plain(block.text)];
      case 'text':
        return block.lines.map(ofLine);
      case 'fields':
        return block.fields.flatMap((field) => [plain(field.label), ofLine(field.value)]);
      case 'context':
        return [ofLine(block.line)];
      default:
        return [];
    }
  });
  return blocks.length > 0 ? blocks : [plain(message.summary)];
}

const markupNobodyAskedFor =
  'a, b, i, u, h1, h2, h3, h4, h5, h6, ol, ul, li, code, pre, blockquote, img, hr, del, s, table';

describe.each(hostileNames)('cards naming %j, as a Teams client renders them', (name) => {
  const memo = `${name} said: fixed *all* the_bugs & <more>`;
  for (const withMentions of [false, true]) {
    it(`every message shows the name and memo literally, bold only where meant${withMentions ? ' (people as real mentions)' : ''}`, () => {
      for (const item of messageGallery(name, memo)) {
        const mentions = new Map<bigint, TeamsMention>(
          withMentions ? item.members.map((member) => [member.id, { id: `29:${member.id}`, name: member.name }]) : [],
        );
        const card = presentCard(item.message, { mentions });
        const rendered = renderCard(card as unknown as Record<string, unknown>);
        const blocks = [...rendered.querySelectorAll('.ac-textBlock')];
        const expected = expectedBlocks(item.message, mentions);
        const seen = blocks.map((block) => ({
          text: visibleText(block),
          bold: [...block.querySelectorAll('strong')].map(visibleText),
          italic: [...block.querySelectorAll('em')].map(visibleText),
        }));
        expect(seen, item.kind).toEqual(expected);
        for (const block of blocks) expect(block.querySelectorAll(markupNobodyAskedFor), item.kind).toHaveLength(0);
        const buttons = [...rendered.querySelectorAll('button')].map(visibleText);
        const labels = item.message.blocks.flatMap((block) =>
          block.type === 'actions' ? block.actions.map((action) => action.label) : [],
        );
        expect(buttons, item.kind).toEqual(labels);
      }
    });
  }
});

describe('the balance card header', () => {
  it('for Adele Vance reads "Tokens of Adele Vance" in bold, with no literal asterisk', () => {
    const item = messageGallery('Adele Vance', 'thanks').find((entry) => entry.kind === 'balance of someone else')!;
    const rendered = renderCard(presentCard(item.message) as unknown as Record<string, unknown>);
    const header = rendered.querySelector('.ac-textBlock')!;
    expect(visibleText(header)).toBe('Tokens of Adele Vance');
    expect(Number(header.style.fontWeight)).toBeGreaterThanOrEqual(600);
    expect(visibleText(rendered)).not.toContain('*');
  });

  it('a bold run that ends in a space is still bold (the delimiters hug the text)', () => {
    const rendered = renderCard(
      presentCard({
        summary: 's',
        blocks: [{ type: 'text', lines: [[{ bold: 'Tokens of ' }, 'Adele Vance']] }],
      }) as never,
    );
    const block = rendered.querySelector('.ac-textBlock')!;
    expect(visibleText(block)).toBe('Tokens of Adele Vance');
    expect([...block.querySelectorAll('strong')].map(visibleText)).toEqual(['Tokens of']);
  });
});
