import { type EmphasisRule, isPunctuation, isWhitespace, joinRuns, type Run } from '../chat/emphasis.models';

// The one place that writes Adaptive Card Markdown. Teams renders a TextBlock's text (and a FactSet's
// titles and values) as a subset of CommonMark: bold, italic, lists, links; Microsoft's own JS
// renderer hands the text to a CommonMark processor (markdown-it in our tests). So user text is made
// literal with CommonMark backslash escapes, and emphasis is written only where CommonMark's
// flanking rules (spec 0.31, §6.2) read the delimiters as emphasis.

/** ASCII punctuation that CommonMark (or Teams) may read as markup, `&` (entities) and the `<>` of `<at>` tags. */
const markdownSpecial = /[\\`*_{}[\]()#+\-.!|<>~&]/g;

/** Makes text literal in card Markdown: no formatting, links, entities or mentions. */
export function escapeCardText(value: string): string {
  return (
    value
      .replace(/\r\n?/g, '\n')
      // Control characters (other than tab and newline) have no business in a card.
      .replace(/\p{Cc}/gu, (character) => (character === '\n' || character === '\t' ? character : ''))
      .replace(markdownSpecial, (character) => `\\${character}`)
  );
}

/** CommonMark: a delimiter run between `before` and `after` is left-flanking. */
function leftFlanking(before: string, after: string): boolean {
  return !isWhitespace(after) && (!isPunctuation(after) || isWhitespace(before) || isPunctuation(before));
}

/** CommonMark: a delimiter run between `before` and `after` is right-flanking. */
function rightFlanking(before: string, after: string): boolean {
  return !isWhitespace(before) && (!isPunctuation(before) || isWhitespace(after) || isPunctuation(after));
}

function canOpen(delimiter: string, before: string, after: string): boolean {
  const left = leftFlanking(before, after);
  if (delimiter.startsWith('*')) return left;
  return left && (!rightFlanking(before, after) || isPunctuation(before));
}

function canClose(delimiter: string, before: string, after: string): boolean {
  const right = rightFlanking(before, after);
  if (delimiter.startsWith('*')) return right;
  return right && (!leftFlanking(before, after) || isPunctuation(after));
}

/** Bold is `**`, italic `_`; a pair is written only where CommonMark opens and closes emphasis with it. */
export const cardEmphasis: EmphasisRule = {
  delimiters: { bold: '**', italic: '_' },
  wrap(style, place) {
    const delimiter = this.delimiters[style];
    const first = [...place.inner][0] ?? '';
    const last = [...place.inner].pop() ?? '';
    if (!canOpen(delimiter, place.before, first) || !canClose(delimiter, last, place.after)) return undefined;
    return { open: delimiter, close: delimiter };
  },
};

/** One line of card Markdown from runs of escaped text (see src/chat/emphasis.models.ts). */
export function cardLine(runs: readonly Run[]): string {
  return joinRuns(runs, cardEmphasis);
}
