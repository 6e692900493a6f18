// Emphasis that hugs its text, for the two markups Allot writes (Adaptive Card Markdown and Slack
// mrkdwn). Both read a delimiter as emphasis only where it touches the text it wraps and stands at a
// word boundary outside: `**Tokens of **Adele` shows its asterisks in Teams, `*Tokens of *` in Slack.
// A presenter hands over a line as runs of already-escaped text, some emphasised; `joinRuns` moves
// spaces at an emphasised run's edges outside the delimiters, merges touching runs of one style, and
// asks the renderer's own rule whether each pair of delimiters will be read at that place.

/** A piece of a line: text already escaped for the renderer, emphasised or not. */
export interface Run {
  text: string;
  emphasis?: 'bold' | 'italic';
}

/** Where a pair of delimiters would stand: the character before the opening one and after the closing one. */
export interface DelimiterPlace {
  /** The character before the opening delimiter ('' at the start of the line). */
  before: string;
  /** The emphasised text, trimmed, never empty. */
  inner: string;
  /** The character after the closing delimiter ('' at the end of the line). */
  after: string;
}

/** How one renderer writes emphasis. */
export interface EmphasisRule {
  delimiters: Record<'bold' | 'italic', string>;
  /**
   * The delimiters to write at this place, or undefined when the renderer would not read any as
   * emphasis there (the run is then written plain: never a stray delimiter).
   */
  wrap(style: 'bold' | 'italic', place: DelimiterPlace): { open: string; close: string } | undefined;
}

/** Unicode whitespace as CommonMark and Slack count it (space separators, tab, line breaks). */
export const isWhitespace = (character: string) => character === '' || /^[\s\p{Zs}]$/u.test(character);
/** Unicode punctuation as CommonMark 0.31 counts it (general categories P and S). */
export const isPunctuation = (character: string) => /^[\p{P}\p{S}]$/u.test(character);

function lastCharacter(text: string): string {
  return [...text].pop() ?? '';
}

function firstCharacter(text: string): string {
  return [...text][0] ?? '';
}

/** Joins runs into one line of markup under `rule` (see the file comment). */
export function joinRuns(runs: readonly Run[], rule: EmphasisRule): string {
  // Split off the spaces at the edges of emphasised runs, then merge neighbours of one style.
  const pieces: Run[] = [];
  const push = (run: Run) => {
    if (run.text.length === 0) return;
    const previous = pieces[pieces.length - 1];
    if (previous && previous.emphasis === run.emphasis) previous.text += run.text;
    else pieces.push({ ...run });
  };
  for (const run of runs) {
    if (!run.emphasis) {
      push(run);
      continue;
    }
    const match = /^(\s*)([\s\S]*?)(\s*)$/.exec(run.text)!;
    push({ text: match[1]! });
    push({ text: match[2]!, emphasis: run.emphasis });
    push({ text: match[3]! });
  }
  let line = '';
  for (const [index, piece] of pieces.entries()) {
    if (!piece.emphasis) {
      line += piece.text;
      continue;
    }
    const next = pieces[index + 1];
    const place: DelimiterPlace = {
      before: lastCharacter(line),
      inner: piece.text,
      // An emphasised neighbour is taken to be written with its delimiter (bold beside italic is rare).
      after: next ? (next.emphasis ? rule.delimiters[next.emphasis][0]! : firstCharacter(next.text)) : '',
    };
    // Bold and italic use different characters, so a delimiter written just before is a neighbour like any other.
    const wrapped = rule.wrap(piece.emphasis, place);
    line += wrapped ? `${wrapped.open}${piece.text}${wrapped.close}` : piece.text;
  }
  return line;
}
