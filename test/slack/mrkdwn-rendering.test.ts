import { describe, expect, it } from 'vitest';
import type { Line, Span } from '../../src/notify/message.models';
import { toSlackMessage } from '../../src/slack/blockkit.presenter';
import type { SlackIds } from '../../src/slack/slack-text.models';
import { hostileNames, messageGallery } from '../support/message-gallery';
import { type MrkdwnToken, readMrkdwn, shownText, unLookalike } from '../support/mrkdwn';

// What people see in Slack, not the Block Kit JSON: every message Allot builds, naming people with
// names that break naive mrkdwn, read back with a small mrkdwn reader that follows Slack's
// formatting reference (test/support/mrkdwn.ts). Each text shows what was meant (formatting
// characters typed by people come back as look-alikes), bold and italic only where Allot put them,
// no mention, link or quote that nobody asked for, and no bare control character.

interface Expected {
  text: string;
  bold: string[];
  italic: string[];
}

function shownSpan(span: Span, ids: SlackIds): string {
  if (typeof span === 'string') return span;
  if ('bold' in span) return span.bold;
  if ('italic' in span) return span.italic;
  if ('code' in span) return span.code.replace(/`/g, "'");
  if ('channel' in span) return `#${span.channel.name}`;
  if ('link' in span) return span.link.text;
  const id = ids.get(span.member.id);
  return id ? `@${id}` : span.member.name;
}

function expectedLine(line: Line, ids: SlackIds): Expected {
  return {
    text: line.map((span) => shownSpan(span, ids)).join(''),
    bold: line.flatMap((span) =>
      typeof span === 'object' && 'bold' in span && span.bold.trim() ? [span.bold.trim()] : [],
    ),
    italic: line.flatMap((span) =>
      typeof span === 'object' && 'italic' in span && span.italic.trim() ? [span.italic.trim()] : [],
    ),
  };
}

/** Runs of consecutive tokens with a style, as a reader sees them. */
function styledRuns(tokens: MrkdwnToken[], style: 'bold' | 'italic'): string[] {
  const runs: string[] = [];
  let current: string | undefined;
  for (const token of tokens) {
    if (token[style]) current = (current ?? '') + (token.kind === 'user' ? `@${token.text}` : token.text);
    else if (current !== undefined) {
      runs.push(unLookalike(current).trim());
      current = undefined;
    }
  }
  if (current !== undefined) runs.push(unLookalike(current).trim());
  return runs;
}

function seen(mrkdwn: string): Expected & { problems: string[]; other: MrkdwnToken[] } {
  const reading = readMrkdwn(mrkdwn);
  return {
    text: unLookalike(shownText(reading)),
    bold: styledRuns(reading.tokens, 'bold'),
    italic: styledRuns(reading.tokens, 'italic'),
    problems: reading.problems,
    // Strike-through, quotes, links and special mentions: never wanted in Allot's messages.
    other: reading.tokens.filter(
      (token) => token.strike || token.quote || token.kind === 'link' || token.kind === 'special',
    ),
  };
}

const join = (parts: Expected[]): Expected => ({
  text: parts.map((part) => part.text).join('\n'),
  bold: parts.flatMap((part) => part.bold),
  italic: parts.flatMap((part) => part.italic),
});

describe.each(hostileNames)('Block Kit naming %j, as Slack shows it', (name) => {
  const memo = `${name} said: fixed *all* the_bugs & <more>`;
  for (const withIds of [false, true]) {
    it(`every message shows the name and memo as typed, bold and italic only where meant${withIds ? ' (people as mentions)' : ''}`, () => {
      for (const item of messageGallery(name, memo)) {
        const ids: SlackIds = new Map(withIds ? item.members.map((member) => [member.id, `U${member.id}ABC`]) : []);
        const sent = toSlackMessage(item.message, ids);
        sent.blocks.forEach((block, index) => {
          const source = item.message.blocks[index]!;
          const where = `${item.kind}, block ${index}`;
          let expected: Expected | undefined;
          let written: string | undefined;
          if (source.type === 'text') {
            expected = join(source.lines.map((line) => expectedLine(line, ids)));
            written = block.text.text;
          } else if (source.type === 'context') {
            expected = expectedLine(source.line, ids);
            written = block.elements[0].text;
          } else if (source.type === 'fields') {
            source.fields.forEach((field, fieldIndex) => {
              const value = expectedLine(field.value, ids);
              const fieldSeen = seen(block.fields[fieldIndex].text);
              expect({ ...fieldSeen, problems: fieldSeen.problems, other: fieldSeen.other }, where).toEqual({
                text: `${field.label}\n${value.text}`,
                bold: [field.label.trim(), ...value.bold],
                italic: value.italic,
                problems: [],
                other: [],
              });
            });
          } else if (source.type === 'header') {
            expect(block.text, where).toEqual({ type: 'plain_text', text: source.text });
          } else if (source.type === 'actions') {
            expect(
              block.elements.map((button: { text: { text: string } }) => button.text.text),
              where,
            ).toEqual(source.actions.map((action) => action.label));
          }
          if (expected && written !== undefined) {
            expect(seen(written), where).toEqual({ ...expected, problems: [], other: [] });
          }
        });
        const fallback = seen(sent.text);
        expect(fallback, `${item.kind}, fallback text`).toEqual({
          text: item.message.summary,
          bold: [],
          italic: [],
          problems: [],
          other: [],
        });
      }
    });
  }
});

describe('emphasis in mrkdwn', () => {
  it('a bold run ending in a space stays bold; bold beside a letter still reads as bold', () => {
    const sent = toSlackMessage(
      {
        summary: 's',
        blocks: [
          {
            type: 'text',
            lines: [
              [{ bold: 'Tokens of ' }, 'Adele Vance'],
              ['x', { bold: '50k' }, 'y'],
            ],
          },
        ],
      },
      new Map(),
    );
    const reading = seen(sent.blocks[0]!.text.text);
    expect(reading.text).toBe('Tokens of Adele Vance\nx50ky');
    expect(reading.bold).toEqual(['Tokens of', '50k']);
  });

  it('a name typed between letters keeps its underscore; one that could format becomes a look-alike', () => {
    const sent = toSlackMessage(
      { summary: 's', blocks: [{ type: 'text', lines: [['ana_lima and _init_']] }] },
      new Map(),
    );
    expect(sent.blocks[0]!.text.text).toBe('ana_lima and \u02cdinit\u02cd');
  });
});
