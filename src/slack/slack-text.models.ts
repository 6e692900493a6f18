import { type EmphasisRule, joinRuns, type Run } from '../chat/emphasis.models';
import { type CommandToken, splitCommandWords } from '../chat/words.models';
import { type ChatMessage, isLinkableUrl, type Line, plainText, type Span } from '../notify/message.models';

// Slack's text formats, both ways: command text in (escaped by Slack because the manifest sets
// should_escape), mrkdwn out. This file is the one place that writes mrkdwn: text is escaped so it can
// never ping, link or format (see `literalMrkdwn`), and emphasis is written where Slack reads it.

/** Longest command text read; Slack itself caps it well below this. */
export const commandTextLengthMax = 4_000;

const entity: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>' };

/** Undoes Slack's escaping of &, < and > in text it sends us. */
export function unescapeSlack(text: string): string {
  return text.replace(/&(amp|lt|gt);/g, (match) => entity[match] ?? match);
}

/** Escapes text for mrkdwn: with &, < and > escaped, `<!channel>` or `<@U…>` are shown, not acted on. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Look-alikes for mrkdwn's formatting characters. Slack documents no escape for them (only &, < and
 * > have entities), so where one could open or close formatting it is shown as a character of the
 * same shape that Slack does not read (the choice of jsx-slack's `<Escape>`).
 */
const lookalikes: Record<string, string> = { '*': '\u2217', _: '\u02cd', '~': '\u223c', '`': '\u02cb' };

const alphanumeric = (character: string | undefined) => character !== undefined && /[\p{L}\p{N}]/u.test(character);

/**
 * Makes text literal in mrkdwn: &, < and > escaped; `*`, `_`, `~` and backticks replaced by
 * look-alikes unless they stand between two letters or digits (`ana_lima`), where Slack never
 * reads them as formatting.
 */
export function literalMrkdwn(text: string): string {
  const characters = [...text];
  const shown = characters.map((character, index) => {
    const lookalike = lookalikes[character];
    if (!lookalike) return character;
    const inWord = character !== '`' && alphanumeric(characters[index - 1]) && alphanumeric(characters[index + 1]);
    return inWord ? character : lookalike;
  });
  return escapeMrkdwn(shown.join(''));
}

/** A zero-width space: Slack counts it as a word boundary, so emphasis beside a letter still reads. */
const wordBoundary = '\u200b';

/**
 * Slack's emphasis: `*bold*` and `_italic_` are read when the delimiters touch the text inside and
 * stand at a word boundary outside (observed behaviour; Slack's formatting reference shows only the
 * plain forms). Where a letter or digit touches a delimiter outside, a zero-width space is put between.
 */
export const mrkdwnEmphasis: EmphasisRule = {
  delimiters: { bold: '*', italic: '_' },
  wrap(style, place) {
    const delimiter = this.delimiters[style];
    if (place.inner.includes('\n')) return undefined;
    return {
      open: `${alphanumeric(place.before) ? wordBoundary : ''}${delimiter}`,
      close: `${delimiter}${alphanumeric(place.after) ? wordBoundary : ''}`,
    };
  },
};

const userMention = /^<@([UW][A-Z0-9]{1,20})(?:\|([^>]*))?>$/;
/** A public or private channel id: the only ids a channel span may turn into a link. */
const slackChannelId = /^[CG][A-Z0-9]{2,20}$/;
const channelRef = /^<#([CG][A-Z0-9]+)(?:\|([^>]*))?>$/;
const linkRef = /^<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>$/;

/**
 * Splits escaped slash-command text into words and mentions. Mentions arrive as `<@U123>` or
 * `<@U123|name>`; channels and links become plain words; anything else in angle brackets
 * (`<!channel>`, `<!here>`) stays a word and is escaped again whenever it is shown.
 */
export function tokenizeSlackText(raw: string, workspaceId: string): CommandToken[] {
  const text = raw.slice(0, commandTextLengthMax);
  const tokens: CommandToken[] = [];
  // Angle-bracket references never contain spaces in their id part, but a label may; keep them whole.
  // The text between them splits into words by the grammar's one rule (a pasted "1 000" stays one word).
  const pieces = (text.match(/<[^<>]*>|[^<]+|</g) ?? []).flatMap((part) =>
    part.startsWith('<') ? [part] : splitCommandWords(part),
  );
  for (const piece of pieces) {
    const user = userMention.exec(piece);
    if (user) {
      tokens.push({
        kind: 'mention',
        user: {
          platform: 'slack',
          externalId: user[1]!,
          workspaceId,
          displayName: user[2] ? unescapeSlack(user[2]) : undefined,
        },
      });
      continue;
    }
    const channel = channelRef.exec(piece);
    if (channel) {
      tokens.push({ kind: 'word', text: `#${unescapeSlack(channel[2] || channel[1]!)}`, channelId: channel[1]! });
      continue;
    }
    const link = linkRef.exec(piece);
    if (link) {
      tokens.push({ kind: 'word', text: unescapeSlack(link[2] || link[1]!) });
      continue;
    }
    tokens.push({ kind: 'word', text: unescapeSlack(piece) });
  }
  return tokens;
}

/** Every member named in a message, so the presenter can look up their Slack ids in one query. */
export function memberIdsIn(message: ChatMessage): bigint[] {
  const ids = new Set<bigint>();
  const visit = (line: Line) => {
    for (const span of line) if (typeof span !== 'string' && 'member' in span) ids.add(span.member.id);
  };
  for (const block of message.blocks) {
    if (block.type === 'text') block.lines.forEach(visit);
    else if (block.type === 'context') visit(block.line);
    else if (block.type === 'fields') for (const field of block.fields) visit(field.value);
  }
  return [...ids];
}

/** Slack user ids of members, where known; members without one are shown by name. */
export type SlackIds = Map<bigint, string>;

const slackUserId = /^[UW][A-Z0-9]{1,20}$/;

function runOf(span: Span, ids: SlackIds): Run {
  if (typeof span === 'string') return { text: literalMrkdwn(span) };
  if ('bold' in span) return { text: literalMrkdwn(span.bold), emphasis: 'bold' };
  if ('italic' in span) return { text: literalMrkdwn(span.italic), emphasis: 'italic' };
  // Inside a code span Slack formats nothing; only a backtick would end it early.
  if ('code' in span) return { text: `\`${escapeMrkdwn(span.code.replace(/`/g, "'"))}\`` };
  if ('link' in span) {
    const shown = literalMrkdwn(span.link.text);
    return { text: isLinkableUrl(span.link.url) ? `<${span.link.url}|${shown}>` : shown };
  }
  if ('channel' in span) {
    return {
      text: slackChannelId.test(span.channel.id) ? `<#${span.channel.id}>` : literalMrkdwn(`#${span.channel.name}`),
    };
  }
  const id = ids.get(span.member.id);
  return { text: id && slackUserId.test(id) ? `<@${id}>` : literalMrkdwn(span.member.name) };
}

/** A line of mrkdwn that would start with `>` (a quote in Slack) starts with a soft hyphen, which shows nothing. */
function unquoted(written: string): string {
  return written.replace(/^&gt;/gm, '\u00ad&gt;');
}

/** One line of mrkdwn from spans: escaped, emphasised where Slack reads it, never a quote. */
export function lineToMrkdwn(line: Line, ids: SlackIds): string {
  return unquoted(
    joinRuns(
      line.map((span) => runOf(span, ids)),
      mrkdwnEmphasis,
    ),
  );
}

/** Plain text (a message's fallback `text`, shown in notifications) as mrkdwn that formats nothing. */
export function plainToMrkdwn(text: string): string {
  return unquoted(literalMrkdwn(text));
}

/** A label in bold on its own, as a field's title. */
export function boldMrkdwn(text: string): string {
  return lineToMrkdwn([{ bold: text }], new Map());
}

export { plainText };
