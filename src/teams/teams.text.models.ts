import { commandTokensMax } from '../chat/grammar.models';
import { splitCommandWords } from '../chat/words.models';

// Pure parsing of what a person typed to the bot in Teams. Teams has no slash commands for bots: the
// words arrive as message text, with `<at>…</at>` where someone (the bot too, in group chats and
// channels) was mentioned. People named in the message are taken from the activity's mention
// entities, never from the text, so typing `<at>Ana</at>` by hand names nobody (Teams sends what a
// person types escaped, `&lt;at&gt;`), and all of a mention's text is kept out of the command's words.

/**
 * A mention entity as Teams sends it. `text` is how the mention appears in the message
 * (`<at>Ana Lopez</at>`), but Teams leaves it out for some names (with "&", for one), and splits a
 * name with spaces into one entity per word (`<at>Mia</at> <at>Manager</at>`, same `mentioned.id`).
 */
export interface MentionEntity {
  type: 'mention';
  text?: string;
  mentioned: { id: string; name?: string; aadObjectId?: string };
}

/** A token before mentioned people are resolved to Entra object ids. */
export type RawToken =
  | { kind: 'word'; text: string }
  | { kind: 'mention'; mentionedId: string; name: string; aadObjectId?: string };

/** Longest text the parser reads; commands are short, and the bound keeps hostile input cheap. */
export const commandTextLengthMax = 4_000;
/** Most mention entities read from one activity. */
export const mentionEntitiesMax = 200;

/** The valid mention entities of an activity (the bot's own included), in the order Teams sent them. */
export function mentionEntities(entities: unknown): MentionEntity[] {
  if (!Array.isArray(entities)) return [];
  const found: MentionEntity[] = [];
  for (const entity of entities.slice(0, mentionEntitiesMax)) {
    if (!entity || typeof entity !== 'object') continue;
    const { type, text, mentioned } = entity as { type?: unknown; text?: unknown; mentioned?: unknown };
    if (type !== 'mention' || !mentioned || typeof mentioned !== 'object') continue;
    const { id, name, aadObjectId } = mentioned as { id?: unknown; name?: unknown; aadObjectId?: unknown };
    if (typeof id !== 'string' || id.length === 0 || id.length > 200) continue;
    found.push({
      type: 'mention',
      ...(typeof text === 'string' ? { text } : {}),
      mentioned: {
        id,
        ...(typeof name === 'string' ? { name } : {}),
        ...(typeof aadObjectId === 'string' && aadObjectId.length > 0 ? { aadObjectId } : {}),
      },
    });
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

/** How a mention's text compares: entities decoded, the `<at>` wrapper and extra spaces gone, case folded. */
function comparable(value: string): string {
  return decodeHtml(value.replace(/^<at\b[^>]*>|<\/at>$/gi, ''))
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
}

interface AtTag {
  /** Where the tag starts and ends in the text. */
  start: number;
  end: number;
  raw: string;
  inner: string;
  entity?: MentionEntity;
}

/**
 * Pairs each `<at>…</at>` tag of the text with the mention entity it presents, each entity used once:
 * first by identical `text`; then by the same text once decoded (`&amp;` and `&`), or a text-less
 * entity whose name reads the same; then a text-less entity whose name contains the tag's words (one
 * piece of a split name); then, in order, any text-less entity left. A tag no entity claims stays
 * plain text, except one that reads as the bot's own name.
 */
function pairTags(tags: AtTag[], entities: readonly MentionEntity[]): void {
  const unused = [...entities];
  const take = (tag: AtTag, test: (entity: MentionEntity) => boolean) => {
    if (tag.entity) return;
    const index = unused.findIndex(test);
    if (index !== -1) tag.entity = unused.splice(index, 1)[0];
  };
  for (const tag of tags) take(tag, (entity) => entity.text === tag.raw);
  for (const tag of tags) {
    const inner = comparable(tag.inner);
    take(tag, (entity) =>
      entity.text === undefined ? comparable(entity.mentioned.name ?? '') === inner : comparable(entity.text) === inner,
    );
  }
  for (const tag of tags) {
    const words = comparable(tag.inner).split(' ').filter(Boolean);
    take(tag, (entity) => {
      if (entity.text !== undefined || words.length === 0) return false;
      const name = comparable(entity.mentioned.name ?? '').split(' ');
      return words.every((word) => name.includes(word));
    });
  }
  for (const tag of tags) take(tag, (entity) => entity.text === undefined);
}

/**
 * Splits message text into words and mentions. Mention text is presentation: who is named comes from
 * the entity paired with each `<at>…</at>` tag (see `pairTags`), and all of a mention's text is
 * taken out of the words, whether it names a person or the bot (`bot`: the activity's recipient),
 * whose mentions are dropped wherever they stand. Adjacent tags of one person (a name Teams split at
 * its spaces) are one mention. Other HTML Teams may wrap around text is dropped. A leading `/` on the
 * first word is removed, so `/grant-tokens` and `grant-tokens` read the same.
 */
export function tokenizeCommandText(
  text: string,
  entities: readonly MentionEntity[],
  bot: { id?: string; name?: string } = {},
): RawToken[] {
  const source = text.slice(0, commandTextLengthMax);
  const tags: AtTag[] = [];
  const atTag = /<at\b[^>]*>(.*?)<\/at>/gis;
  for (let match = atTag.exec(source); match && tags.length < mentionEntitiesMax; match = atTag.exec(source)) {
    tags.push({ start: match.index, end: match.index + match[0].length, raw: match[0], inner: match[1] ?? '' });
  }
  pairTags(tags, entities);
  const botName = bot.name ? comparable(bot.name) : undefined;
  const isBot = (tag: AtTag) =>
    tag.entity ? tag.entity.mentioned.id === bot.id : botName !== undefined && comparable(tag.inner) === botName;

  const tokens: RawToken[] = [];
  const pushWords = (chunk: string) => {
    const plain = decodeHtml(chunk.replace(/<\/?(?!at\b)[a-z][^>]*>/gi, ' '));
    for (const word of splitCommandWords(plain)) tokens.push({ kind: 'word', text: word });
  };
  let last = 0;
  /** The mention token the previous tag made, while only spaces separate it from the next tag. */
  let open: { token: Extract<RawToken, { kind: 'mention' }>; pieces: string[]; fromEntityName: boolean } | undefined;
  for (const tag of tags) {
    const between = source.slice(last, tag.start);
    if (between.trim().length > 0) open = undefined;
    pushWords(between);
    last = tag.end;
    if (!tag.entity && !isBot(tag)) {
      open = undefined;
      pushWords(tag.inner);
      continue;
    }
    if (isBot(tag)) continue;
    const entity = tag.entity!;
    const piece = decodeHtml(tag.inner).trim();
    if (open && open.token.mentionedId === entity.mentioned.id) {
      open.pieces.push(piece);
      if (!open.fromEntityName) open.token.name = open.pieces.filter(Boolean).join(' ') || entity.mentioned.id;
      continue;
    }
    const entityName = decodeHtml(entity.mentioned.name ?? '').trim();
    const token: Extract<RawToken, { kind: 'mention' }> = {
      kind: 'mention',
      mentionedId: entity.mentioned.id,
      name: entityName || piece || entity.mentioned.id,
      ...(entity.mentioned.aadObjectId ? { aadObjectId: entity.mentioned.aadObjectId } : {}),
    };
    tokens.push(token);
    open = { token, pieces: [piece], fromEntityName: entityName.length > 0 };
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
