// The platform-neutral message model. The core and src/chat build messages from these parts; the
// Slack presenter turns them into Block Kit, the Teams presenter into an Adaptive Card (1.5).
// Text from users is carried as plain strings inside spans and escaped by each presenter for its
// platform, so `<!channel>`, `@here`, `<at>` or a pasted mention can never ping anyone, and `*` or `_`
// in a name never formats. Bold and italic spans may start or end with spaces: presenters write the
// delimiters hugging the text (src/chat/emphasis.models.ts), as both Markdown dialects require.

/** A run of inline text. */
export type Span =
  | string
  | { bold: string }
  | { italic: string }
  /** A member: presenters show a real mention where the platform identity is known, else the name. */
  | { member: { id: bigint; name: string } }
  | { code: string }
  /** A channel of the platform the message is shown on (Slack: a channel id); others show a plain name. */
  | { channel: { id: string; name: string } }
  /**
   * A link Allot made (the dashboard's sign-in link), never one from user text. Presenters write it as a
   * link only when `isLinkableUrl(url)`; otherwise they show the text alone.
   */
  | { link: { url: string; text: string } };

export type Line = Span[];

export type ActionStyle = 'primary' | 'danger';

export interface MessageAction {
  /** Stable id the adapter routes on, e.g. "request.approve". */
  id: string;
  label: string;
  /** Opaque value carried back when clicked (e.g. the request id); at most 2000 characters. */
  value: string;
  style?: ActionStyle;
}

export type Block =
  | { type: 'header'; text: string }
  | { type: 'text'; lines: Line[] }
  | { type: 'fields'; fields: { label: string; value: Line }[] }
  | { type: 'context'; line: Line }
  | { type: 'actions'; actions: MessageAction[] }
  | { type: 'divider' };

export interface ChatMessage {
  /** Plain fallback shown in notifications and by clients that cannot render blocks. */
  summary: string;
  blocks: Block[];
}

/** Most blocks the core puts in one message (Slack allows 50; Teams cards stay readable). */
export const messageBlocksMax = 45;

export function message(summary: string, ...blocks: Block[]): ChatMessage {
  return { summary, blocks: blocks.slice(0, messageBlocksMax) };
}

export const text = (...lines: Line[]): Block => ({ type: 'text', lines });
export const context = (...line: Span[]): Block => ({ type: 'context', line });

/** Flattens spans to plain text (for summaries and logs); no escaping. */
export function plainText(line: Line): string {
  return line
    .map((span) => {
      if (typeof span === 'string') return span;
      if ('bold' in span) return span.bold;
      if ('italic' in span) return span.italic;
      if ('code' in span) return span.code;
      if ('channel' in span) return `#${span.channel.name}`;
      // The text only: summaries become notification previews, which must not show a secret link.
      if ('link' in span) return span.link.text;
      return span.member.name;
    })
    .join('');
}

/**
 * True for an http(s) URL with none of the characters that end a link in mrkdwn (`|`, `>`) or card
 * Markdown (`)`, spaces): the only URLs a link span is written as a link with.
 */
export function isLinkableUrl(url: string): boolean {
  return /^https?:\/\/[^\s<>|()[\]"'`\\]+$/.test(url) && url.length <= 2_000;
}
