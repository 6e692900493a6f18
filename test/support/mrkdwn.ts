// A small reader of Slack mrkdwn, for tests that check what people would see rather than the string
// sent. Slack publishes no renderer; this follows its formatting reference
// (https://docs.slack.dev/messaging/formatting-message-text, formerly api.slack.com/reference/surfaces/formatting):
// - `&`, `<` and `>` are control characters and must arrive as `&amp;`, `&lt;`, `&gt;`; `<…>` is a
//   mention (`<@U…>`), a channel (`<#C…>`), a special mention or date (`<!…>`) or a link (`<url|label>`);
// - `*bold*`, `_italic_`, `~strike~`, `` `code` `` (nothing is formatted inside code), a line that
//   starts with `>` (or `&gt;`) is a quote;
// and, as Slack behaves though its reference does not say it, formatting is read only where the
// delimiter touches the text inside and stands at a word boundary outside (not beside a letter or
// digit; a zero-width space is a boundary), on one line. Anything a reader would not see as intended
// is reported as a problem: a bare `&`, `<` or `>`, an unknown `<…>`.

export interface MrkdwnToken {
  kind: 'text' | 'user' | 'channel' | 'special' | 'link';
  /** What is shown: the text, or the id / label of a reference. */
  text: string;
  bold: boolean;
  italic: boolean;
  strike: boolean;
  code: boolean;
  quote: boolean;
}

export interface MrkdwnReading {
  tokens: MrkdwnToken[];
  problems: string[];
}

type Unit = { char: string; literal: boolean } | { atom: Omit<MrkdwnToken, 'bold' | 'italic' | 'strike' | 'quote'> };

const invisible = new Set(['\u200b', '\u00ad']);
const alphanumeric = (unit: Unit | undefined) =>
  unit !== undefined && 'char' in unit && /[\p{L}\p{N}]/u.test(unit.char);
const whitespace = (unit: Unit | undefined) => unit !== undefined && 'char' in unit && /\s/u.test(unit.char);

/** Splits one line into units: characters (entities decoded, marked literal) and whole references or code spans. */
function unitsOf(line: string, problems: string[]): Unit[] {
  const units: Unit[] = [];
  let index = 0;
  while (index < line.length) {
    const rest = line.slice(index);
    const entity = /^&(amp|lt|gt);/.exec(rest);
    if (entity) {
      units.push({ char: { amp: '&', lt: '<', gt: '>' }[entity[1] as 'amp' | 'lt' | 'gt'], literal: true });
      index += entity[0].length;
      continue;
    }
    if (rest.startsWith('<')) {
      const reference = /^<([^<>]*)>/.exec(rest);
      const body = reference?.[1] ?? '';
      const [target = '', label] = body.split('|');
      let atom: Extract<Unit, { atom: unknown }>['atom'] | undefined;
      if (/^@[UW][A-Z0-9]+$/.test(target)) atom = { kind: 'user', text: target.slice(1), code: false };
      else if (/^#[CG][A-Z0-9]+$/.test(target)) atom = { kind: 'channel', text: label || target.slice(1), code: false };
      else if (/^!/.test(target)) atom = { kind: 'special', text: target, code: false };
      else if (/^(https?|mailto):/.test(target)) atom = { kind: 'link', text: label ?? target, code: false };
      if (!reference || !atom) {
        problems.push(`a bare "<" in ${JSON.stringify(line)}`);
        units.push({ char: '<', literal: true });
        index += 1;
        continue;
      }
      units.push({ atom });
      index += reference[0].length;
      continue;
    }
    if (rest.startsWith('`')) {
      const code = /^`([^`\n]+)`/.exec(rest);
      if (code) {
        const decoded = code[1]!.replace(
          /&(amp|lt|gt);/g,
          (_m, name: string) => ({ amp: '&', lt: '<', gt: '>' })[name]!,
        );
        if (/[<>]|&(?!amp;|lt;|gt;)/.test(code[1]!)) problems.push(`an unescaped control character in code ${code[0]}`);
        units.push({ atom: { kind: 'text', text: decoded, code: true } });
        index += code[0].length;
        continue;
      }
    }
    const character = String.fromCodePoint(rest.codePointAt(0)!);
    if (character === '&' || character === '>') problems.push(`a bare "${character}" in ${JSON.stringify(line)}`);
    units.push({ char: character, literal: false });
    index += character.length;
  }
  return units;
}

const styles = { '*': 'bold', _: 'italic', '~': 'strike' } as const;

function read(
  units: Unit[],
  style: { bold: boolean; italic: boolean; strike: boolean },
  quote: boolean,
): MrkdwnToken[] {
  const tokens: MrkdwnToken[] = [];
  const pushText = (text: string) => {
    const last = tokens[tokens.length - 1];
    if (
      last &&
      last.kind === 'text' &&
      !last.code &&
      last.bold === style.bold &&
      last.italic === style.italic &&
      last.strike === style.strike
    )
      last.text += text;
    else tokens.push({ kind: 'text', text, code: false, quote, ...style });
  };
  for (let index = 0; index < units.length; index++) {
    const unit = units[index]!;
    if ('atom' in unit) {
      tokens.push({ ...unit.atom, quote, ...style });
      continue;
    }
    const delimiter = !unit.literal && unit.char in styles ? (unit.char as keyof typeof styles) : undefined;
    const opens =
      delimiter !== undefined &&
      !alphanumeric(units[index - 1]) &&
      units[index + 1] !== undefined &&
      !whitespace(units[index + 1]);
    if (opens) {
      const close = units.findIndex(
        (candidate, at) =>
          at > index + 1 &&
          'char' in candidate &&
          !candidate.literal &&
          candidate.char === delimiter &&
          !whitespace(units[at - 1]) &&
          !alphanumeric(units[at + 1]),
      );
      if (close !== -1) {
        tokens.push(...read(units.slice(index + 1, close), { ...style, [styles[delimiter]]: true }, quote));
        index = close;
        continue;
      }
    }
    if (!invisible.has(unit.char)) pushText(unit.char);
  }
  return tokens;
}

/** Reads mrkdwn as Slack shows it: styled runs of text and references, with what a reader would see wrong. */
export function readMrkdwn(mrkdwn: string): MrkdwnReading {
  const problems: string[] = [];
  const tokens: MrkdwnToken[] = [];
  mrkdwn.split('\n').forEach((line, index) => {
    if (index > 0)
      tokens.push({ kind: 'text', text: '\n', bold: false, italic: false, strike: false, code: false, quote: false });
    const quote = /^(>|&gt;)/.test(line);
    const units = unitsOf(quote ? line.replace(/^(>|&gt;)\s?/, '') : line, problems);
    tokens.push(...read(units, { bold: false, italic: false, strike: false }, quote));
  });
  return { tokens, problems };
}

/** Slack's look-alike characters (see literalMrkdwn) read back as the characters people typed. */
export function unLookalike(text: string): string {
  return text
    .replace(/\u2217/g, '*')
    .replace(/\u02cd/g, '_')
    .replace(/\u223c/g, '~')
    .replace(/\u02cb/g, '`');
}

/** The text a reader sees, references shown as `@id`, `#channel`, the link label. */
export function shownText(reading: MrkdwnReading): string {
  return reading.tokens
    .map((token) => {
      if (token.kind === 'user') return `@${token.text}`;
      if (token.kind === 'channel') return `#${token.text}`;
      return token.text;
    })
    .join('');
}
