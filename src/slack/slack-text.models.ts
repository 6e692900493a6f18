import { type CommandToken, splitCommandWords } from '../chat/grammar.models';
import { type ChatMessage, type Line, plainText, type Span } from '../chat/messages';

// Slack's text formats, both ways: command text in (escaped by Slack because the manifest sets
// should_escape), mrkdwn out (user text escaped so it can never ping or link anyone).

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

export function spanToMrkdwn(span: Span, ids: SlackIds): string {
  if (typeof span === 'string') return escapeMrkdwn(span);
  if ('bold' in span) return `*${escapeMrkdwn(span.bold)}*`;
  if ('italic' in span) return `_${escapeMrkdwn(span.italic)}_`;
  if ('code' in span) return `\`${escapeMrkdwn(span.code.replace(/`/g, "'"))}\``;
  if ('channel' in span) {
    return slackChannelId.test(span.channel.id) ? `<#${span.channel.id}>` : escapeMrkdwn(`#${span.channel.name}`);
  }
  const id = ids.get(span.member.id);
  return id && slackUserId.test(id) ? `<@${id}>` : escapeMrkdwn(span.member.name);
}

export function lineToMrkdwn(line: Line, ids: SlackIds): string {
  return line.map((span) => spanToMrkdwn(span, ids)).join('');
}

export { plainText };
