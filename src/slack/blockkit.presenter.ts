import type { Block, ChatMessage } from '../notify/message.models';
import { boldMrkdwn, lineToMrkdwn, literalMrkdwn, plainToMrkdwn, type SlackIds } from './slack-text.models';

// ChatMessage → Block Kit. Limits from Slack: section text 3000 characters, header 150, 10 fields per
// section, button text 75, value 2000; 50 blocks in a message, 100 in a modal or the Home tab.

const sectionTextMax = 3_000;
const headerTextMax = 150;
const fieldsMax = 10;
const buttonTextMax = 75;
const buttonValueMax = 2_000;
/** Slack's own limit per message (the core sends at most `messageBlocksMax`, 45, of src/notify). */
export const slackMessageBlocksMax = 50;
export const viewBlocksMax = 100;

// biome-ignore lint/suspicious/noExplicitAny: Block Kit JSON is passed through to the Web API as is.
export type SlackBlock = Record<string, any>;

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function toSlackBlock(block: Block, index: number, ids: SlackIds): SlackBlock {
  const blockId = `b${index}`;
  switch (block.type) {
    case 'header':
      return { type: 'header', block_id: blockId, text: { type: 'plain_text', text: cut(block.text, headerTextMax) } };
    case 'text':
      return {
        type: 'section',
        block_id: blockId,
        text: {
          type: 'mrkdwn',
          text: cut(block.lines.map((line) => lineToMrkdwn(line, ids)).join('\n'), sectionTextMax),
        },
      };
    case 'fields':
      return {
        type: 'section',
        block_id: blockId,
        fields: block.fields.slice(0, fieldsMax).map((field) => ({
          type: 'mrkdwn',
          text: cut(`${boldMrkdwn(field.label)}\n${lineToMrkdwn(field.value, ids)}`, 2_000),
        })),
      };
    case 'context':
      return {
        type: 'context',
        block_id: blockId,
        elements: [{ type: 'mrkdwn', text: cut(lineToMrkdwn(block.line, ids), sectionTextMax) }],
      };
    case 'actions':
      return {
        type: 'actions',
        block_id: blockId,
        elements: block.actions.slice(0, 25).map((action) => ({
          type: 'button',
          action_id: action.id,
          text: { type: 'plain_text', text: cut(action.label, buttonTextMax) },
          value: action.value.slice(0, buttonValueMax),
          ...(action.style ? { style: action.style } : {}),
        })),
      };
    case 'divider':
      return { type: 'divider', block_id: blockId };
  }
}

export function toBlocks(message: ChatMessage, ids: SlackIds, max = slackMessageBlocksMax): SlackBlock[] {
  return message.blocks.slice(0, max).map((block, index) => toSlackBlock(block, index, ids));
}

/** The fallback text of a message (notifications, screen readers); mrkdwn, so escaped. */
export function toFallbackText(message: ChatMessage): string {
  return cut(plainToMrkdwn(message.summary), sectionTextMax);
}

/** A message body for chat.postMessage / chat.update / respond. */
export function toSlackMessage(message: ChatMessage, ids: SlackIds) {
  return { text: toFallbackText(message), blocks: toBlocks(message, ids) };
}

export function toHomeView(message: ChatMessage, ids: SlackIds) {
  return { type: 'home' as const, blocks: toBlocks(message, ids, viewBlocksMax) };
}

export const denyModalCallbackId = 'request.deny.modal';
export const denyReasonBlockId = 'reason';
export const denyReasonActionId = 'reason_input';

/** The modal asking for an optional reason before denying a request. */
export function denyModal(input: { requestId: string; privateMetadata: string }) {
  return {
    type: 'modal' as const,
    callback_id: denyModalCallbackId,
    private_metadata: input.privateMetadata.slice(0, 3_000),
    title: { type: 'plain_text' as const, text: 'Deny request' },
    submit: { type: 'plain_text' as const, text: 'Deny' },
    close: { type: 'plain_text' as const, text: 'Cancel' },
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `Deny request #${literalMrkdwn(input.requestId)}? The requester will see your reason.`,
        },
      },
      {
        type: 'input',
        block_id: denyReasonBlockId,
        optional: true,
        label: { type: 'plain_text', text: 'Reason (optional)' },
        element: { type: 'plain_text_input', action_id: denyReasonActionId, multiline: true, max_length: 500 },
      },
    ],
  };
}
