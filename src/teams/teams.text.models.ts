import { splitCommandWords } from '../chat/grammar.models';

// Pure parsing of what a person typed to the bot in Teams. Teams has no slash commands for bots: the
// words arrive as message text, after the bot's own `<at>` mention has been removed. People named in
// the message are taken from the activity's mention entities, never from the text, so typing
// `<at>Ana</at>` by hand names nobody.

/** A mention entity as Teams sends it. */
export interface MentionEntity {
  type: 'mention';
  text: string;
  mentioned: { id: string; name?: string };
}

/** A token before mentioned people are resolved to Entra object ids. */
export type RawToken = { kind: 'word'; text: string } | { kind: 'mention'; mentionedId: string; name: string };

/** Longest text the parser reads; commands are short, and the bound keeps hostile input cheap. */
export const commandTextLengthMax = 4_000;
/** Most tokens one command may have (mentions included). */
export const commandTokensMax = 120;

export function mentionEntities(entities: unknown, botId: string | undefined): MentionEntity[] {
  if (!Array.isArray(entities)) return [];
  const found: MentionEntity[] = [];
  for (const entity of entities.slice(0, 200)) {
    if (!entity || typeof entity !== 'object') continue;
    const { type, text, mentioned } = entity as { type?: unknown; text?: unknown; mentioned?: unknown };
    if (type !== 'mention' || typeof text !== 'string' || !mentioned || typeof mentioned !== 'object') continue;
    const { id, name } = mentioned as { id?: unknown; name?: unknown };
    if (typeof id !== 'string' || id.length === 0 || id === botId) continue;
    found.push({ type: 'mention', text, mentioned: { id, name: typeof name === 'string' ? name : undefined } });
  }
  return found;
}

const htmlEntities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/**
 * Decodes the few entities Teams writes. A space written as an entity (`&nbsp;`, `&#160;`) is how
 * Teams' editor may write a space the person typed, so it becomes an ordinary space that separates
 * words; only a grouping-space character pasted as such can keep "1 000" in one word.
 */
function decodeHtml(value: string): string {
  return value.replace(/&(amp|lt|gt|quot|apos|nbsp|#\d{1,6});/g, (whole, name: string) => {
    if (name.startsWith('#')) {
      const code = Number(name.slice(1));
      if (!(code > 0 && code <= 0x10ffff)) return whole;
      const character = String.fromCodePoint(code);
      return /\s/u.test(character) ? ' ' : character;
    }
    return htmlEntities[name] ?? whole;
  });
}

/**
 * Splits message text into words and mentions. Each `<at>…</at>` in the text becomes a mention only
 * when an entity with that exact text exists (entities are used up in order); otherwise its inner
 * text stays as plain words. Other HTML Teams may wrap around text is dropped. A leading `/` on the
 * first word is removed, so `/grant-tokens` and `grant-tokens` read the same.
 */
export function tokenizeCommandText(text: string, entities: readonly MentionEntity[]): RawToken[] {
  const source = text.slice(0, commandTextLengthMax);
  const unused = [...entities];
  const tokens: RawToken[] = [];
  const pushWords = (chunk: string) => {
    const plain = decodeHtml(chunk.replace(/<\/?(?!at\b)[a-z][^>]*>/gi, ' '));
    for (const word of splitCommandWords(plain)) tokens.push({ kind: 'word', text: word });
  };
  const atTag = /<at>(.*?)<\/at>/gis;
  let last = 0;
  for (let match = atTag.exec(source); match; match = atTag.exec(source)) {
    pushWords(source.slice(last, match.index));
    last = match.index + match[0].length;
    const index = unused.findIndex((entity) => entity.text === match[0]);
    if (index === -1) {
      pushWords(match[1] ?? '');
      continue;
    }
    const [entity] = unused.splice(index, 1);
    const name = decodeHtml(entity!.mentioned.name ?? match[1] ?? '').trim();
    tokens.push({ kind: 'mention', mentionedId: entity!.mentioned.id, name: name || entity!.mentioned.id });
  }
  pushWords(source.slice(last));
  const first = tokens[0];
  if (first?.kind === 'word' && first.text.startsWith('/')) {
    const rest = first.text.slice(1);
    if (rest.length > 0) tokens[0] = { kind: 'word', text: rest };
    else tokens.shift();
  }
  return tokens.slice(0, commandTokensMax);
}
