import type { Run } from '../chat/emphasis.models';
import { actionIds } from '../chat/replies.models';
import {
  type Block,
  type ChatMessage,
  isLinkableUrl,
  type Line,
  type MessageAction,
  type Span,
} from '../notify/message.models';
import { cardLine, escapeCardText } from './card-markdown.models';

export { escapeCardText };

// The Adaptive Card presenter: the neutral ChatMessage → an Adaptive Card 1.5, the newest schema
// Teams renders. Text from users is escaped so Markdown or an `<at>` tag typed by someone can neither
// format nor mention; only mentions the presenter builds itself (with a msteams entity) ping anyone.

export const adaptiveCardContentType = 'application/vnd.microsoft.card.adaptive';
export const adaptiveCardVersion = '1.5';

/** What an Allot button carries back, in Action.Execute `data` and in the Action.Submit fallback `value`. */
export interface CardActionData {
  allot: { action: string; value: string };
}

/**
 * Buttons that take an optional note typed on the card (Slack opens a modal for it; a card can hold
 * the text box itself). Teams merges the inputs of the card into the clicked button's data.
 */
export const noteActions: readonly string[] = [actionIds.deny];
export const noteInputId = 'allotNote';
export const noteLengthMax = 500;

/** How to mention a member in Teams: the Entra object id (or 29: id) and the name shown. */
export interface TeamsMention {
  id: string;
  name: string;
}

export interface CardOptions {
  /** Members the card may mention, by member id; others are shown by name in bold. */
  mentions?: ReadonlyMap<bigint, TeamsMention>;
}

export type AdaptiveElement = Record<string, unknown>;

export interface AdaptiveCard {
  type: 'AdaptiveCard';
  $schema: string;
  version: string;
  body: AdaptiveElement[];
  fallbackText: string;
  msteams: { width: 'Full'; entities?: Record<string, unknown>[] };
}

class Renderer {
  readonly entities: Record<string, unknown>[] = [];
  private readonly mentioned = new Set<string>();

  constructor(private readonly options: CardOptions) {}

  run(span: Span): Run {
    if (typeof span === 'string') return { text: escapeCardText(span) };
    if ('bold' in span) return { text: escapeCardText(span.bold), emphasis: 'bold' };
    if ('italic' in span) return { text: escapeCardText(span.italic), emphasis: 'italic' };
    if ('code' in span) return { text: escapeCardText(span.code) };
    if ('channel' in span) return { text: escapeCardText(span.channel.name) };
    if ('link' in span) {
      const shown = escapeCardText(span.link.text);
      return { text: isLinkableUrl(span.link.url) ? `[${shown}](${span.link.url})` : shown };
    }
    const mention = this.options.mentions?.get(span.member.id);
    if (!mention) return { text: escapeCardText(span.member.name), emphasis: 'bold' };
    // The entity text must appear verbatim in the card; the name inside is made harmless first.
    const name = mention.name.replace(/[<>]/g, '').trim() || 'someone';
    const tag = `<at>${name}</at>`;
    if (!this.mentioned.has(`${mention.id}|${tag}`)) {
      this.mentioned.add(`${mention.id}|${tag}`);
      this.entities.push({ type: 'mention', text: tag, mentioned: { id: mention.id, name } });
    }
    return { text: tag };
  }

  line(line: Line): string {
    return cardLine(line.map((span) => this.run(span)));
  }
}

function actionData(action: MessageAction): CardActionData {
  return { allot: { action: action.id, value: action.value } };
}

function cardAction(action: MessageAction): AdaptiveElement {
  const style = action.style === 'primary' ? 'positive' : action.style === 'danger' ? 'destructive' : undefined;
  const data = actionData(action);
  return {
    type: 'Action.Execute',
    title: action.label,
    verb: action.id,
    data,
    ...(style ? { style } : {}),
    // Clients without universal actions fall back to Action.Submit, which arrives as a message with `value`.
    fallback: { type: 'Action.Submit', title: action.label, data, ...(style ? { style } : {}) },
  };
}

/** The card for a ChatMessage. */
export function presentCard(message: ChatMessage, options: CardOptions = {}): AdaptiveCard {
  const renderer = new Renderer(options);
  const body: AdaptiveElement[] = [];
  let separatorNext = false;
  const push = (element: AdaptiveElement) => {
    body.push(separatorNext ? { ...element, separator: true, spacing: 'Medium' } : element);
    separatorNext = false;
  };
  for (const block of message.blocks satisfies Block[]) {
    switch (block.type) {
      case 'header':
        push({ type: 'TextBlock', text: escapeCardText(block.text), size: 'Large', weight: 'Bolder', wrap: true });
        break;
      case 'text':
        for (const line of block.lines) push({ type: 'TextBlock', text: renderer.line(line) || ' ', wrap: true });
        break;
      case 'fields':
        push({
          type: 'FactSet',
          facts: block.fields.map((field) => ({
            title: escapeCardText(field.label),
            value: renderer.line(field.value),
          })),
        });
        break;
      case 'context':
        push({ type: 'TextBlock', text: renderer.line(block.line), isSubtle: true, size: 'Small', wrap: true });
        break;
      case 'actions':
        if (block.actions.some((action) => noteActions.includes(action.id))) {
          push({
            type: 'Input.Text',
            id: noteInputId,
            placeholder: 'Reason (optional, sent with Deny)',
            maxLength: noteLengthMax,
            isMultiline: false,
          });
        }
        if (block.actions.length > 0) push({ type: 'ActionSet', actions: block.actions.map(cardAction) });
        break;
      case 'divider':
        separatorNext = true;
        break;
      default: {
        const unknown: never = block;
        throw new Error(`unknown block ${JSON.stringify(unknown)}`);
      }
    }
  }
  if (body.length === 0) push({ type: 'TextBlock', text: escapeCardText(message.summary), wrap: true });
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: adaptiveCardVersion,
    body,
    fallbackText: message.summary,
    msteams: { width: 'Full', ...(renderer.entities.length > 0 ? { entities: renderer.entities } : {}) },
  };
}

/** The message activity carrying a card (for sendActivity and updateActivity). */
export function cardActivity(message: ChatMessage, options: CardOptions = {}) {
  return {
    type: 'message' as const,
    summary: message.summary,
    attachments: [{ contentType: adaptiveCardContentType, content: presentCard(message, options) }],
  };
}

/** The body of an answer to an `adaptiveCard/action` invoke that replaces the card for the clicker. */
export function cardInvokeResponse(message: ChatMessage, options: CardOptions = {}) {
  return { statusCode: 200, type: adaptiveCardContentType, value: presentCard(message, options) };
}

/** The body of an answer to an `adaptiveCard/action` invoke that shows a short message instead. */
export function messageInvokeResponse(text: string) {
  return { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: text };
}

export function errorInvokeResponse(statusCode: number, message: string) {
  return { statusCode, type: 'application/vnd.microsoft.error', value: { code: 'allot_error', message } };
}

/**
 * Reads the Allot action out of an Action.Execute `data` or an Action.Submit `value` (with the note
 * typed on the card, if any); undefined if it is not ours.
 */
export function parseCardActionData(value: unknown): { action: string; value: string; note?: string } | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const allot = (value as { allot?: unknown }).allot;
  if (!allot || typeof allot !== 'object') return undefined;
  const { action, value: carried } = allot as { action?: unknown; value?: unknown };
  if (typeof action !== 'string' || action.length === 0 || action.length > 100) return undefined;
  if (typeof carried !== 'string' || carried.length > 2000) return undefined;
  const typed = (value as Record<string, unknown>)[noteInputId];
  const note = typeof typed === 'string' ? typed.trim().slice(0, noteLengthMax) : '';
  return note.length > 0 && noteActions.includes(action)
    ? { action, value: carried, note }
    : { action, value: carried };
}
