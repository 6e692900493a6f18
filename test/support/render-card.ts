import * as AdaptiveCards from 'adaptivecards';
import MarkdownIt from 'markdown-it';

// Renders an Adaptive Card the way a Teams client does, for tests that look at what people see rather
// than at the JSON: Microsoft's `adaptivecards` renderer (in a DOM; the test file runs in happy-dom),
// with a CommonMark processor plugged in through `onProcessMarkdown` as hosts do (markdown-it, raw
// HTML off: Teams shows none), and `<at>…</at>` tags that match one of the card's `msteams.entities`
// shown as the mentioned person's name, as Teams shows a mention. A tag with no entity stays text.

const markdown = new MarkdownIt('commonmark', { html: false, linkify: false });

const escapeHtml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

interface MentionEntity {
  text: string;
  mentioned: { id: string; name: string };
}

/** The part of a DOM element the tests read (the project compiles without the DOM library). */
export interface RenderedElement {
  textContent: string | null;
  innerHTML: string;
  style: { fontWeight: string };
  querySelector(selectors: string): RenderedElement | null;
  querySelectorAll(selectors: string): Iterable<RenderedElement> & { length: number };
}

/** The card rendered to a DOM element (detached), with mentions shown as `<span class="allot-mention">`. */
export function renderCard(card: Record<string, unknown>): RenderedElement {
  const entities = ((card.msteams as { entities?: MentionEntity[] } | undefined)?.entities ?? []).filter(
    (entity) => typeof entity.text === 'string',
  );
  AdaptiveCards.AdaptiveCard.onProcessMarkdown = (text, result) => {
    let marked = text;
    entities.forEach((entity, index) => {
      marked = marked.split(entity.text).join(`\uE000${index}\uE001`);
    });
    result.outputHtml = markdown
      .render(marked)
      .replace(
        /\uE000(\d+)\uE001/g,
        (_match, index: string) =>
          `<span class="allot-mention">${escapeHtml(entities[Number(index)]!.mentioned.name)}</span>`,
      );
    result.didProcess = true;
  };
  const adaptiveCard = new AdaptiveCards.AdaptiveCard();
  adaptiveCard.parse(card);
  const element = adaptiveCard.render();
  if (!element) throw new Error('the card did not render');
  return element as unknown as RenderedElement;
}

/** The visible text of one rendered element, spaces collapsed. */
export function visibleText(element: RenderedElement): string {
  return (element.textContent ?? '').replace(/\s+/g, ' ').trim();
}
