import { formatTokens } from '../ledger/amount.models';
import { grantRecipientsMax } from '../ledger/ledger.models';
import { reversalRefusalLines } from '../ledger/reversal.replies';
import { dayLabel } from '../lib/expiry.models';
import type { Member } from '../members/members.repository';
import { type ChatMessage, plainText } from '../notify/message.models';

// What the operator reads: one friendly line per failure, saying what to do instead. Every failure code
// of the verbs the CLI calls is listed, so a new code shows up here as a type error.
const failureLines = {
  amount_invalid: 'That amount cannot be moved. Type a whole number of tokens, like 50000, 50k or 1.5M.',
  not_an_admin: 'Only admins may do that.',
  member_not_found: 'No such member. See: allot member list <org>',
  not_a_manager:
    'That member is not an active manager. Make them one first: allot role <org> <member> manager (or admin)',
  idempotency_conflict:
    'That --key was already used for a different operation. Use a new --key, or repeat the original command exactly.',
  no_recipients: 'Name at least one member to grant to.',
  too_many_recipients: `One grant may name at most ${grantRecipientsMax} members; split it into several grants.`,
  self_grant: 'Nobody may grant tokens to themselves.',
  recipient_not_found: 'One of the recipients is not a member. See: allot member list <org>',
  recipient_is_bot: 'One of the recipients is a bot; bots cannot receive tokens.',
  recipient_inactive: 'One of the recipients is deactivated and cannot receive tokens.',
  exceeds_budget: 'The budget does not hold enough tokens for that; nothing was moved.',
  exceeds_balance:
    'An account would go below zero (tokens held by AI calls in flight count as spent until they settle); nothing was moved.',
  transfer_not_found: 'No such transfer. See: allot transfers <org>',
  ...reversalRefusalLines,
  slug_invalid: 'An organisation slug is 1 to 63 lower-case letters, digits or dashes, like acme or acme-eu.',
  slug_taken: 'That slug is taken; choose another. See: allot org list',
  time_zone_invalid: 'Unknown time zone. Use an IANA name like Europe/Paris or America/New_York.',
  email_taken: 'Another member of this organisation already has that email.',
  email_invalid: 'That email does not look right; type it like ana@example.com.',
  manager_not_found: 'No such manager. Name them by email or id; see: allot member list <org>',
  name_invalid: 'A member needs a name, like "Ana Lima".',
  own_manager: 'Nobody can be their own manager.',
  reporting_cycle: 'That would make a reporting loop (the manager reports, directly or not, to this member).',
  expiry_past:
    'That expiry has already passed; nothing was written. Use a later date, like --expires 2027-06-30, or a number of days, like --expires 90d.',
  expiry_too_far:
    'That expiry is more than 5 years ahead; nothing was written. Use a nearer date, or fewer days, like --expires 365d.',
  expiry_with_rollover:
    'An allowance that expires carries nothing over, so it takes no --rollover-cap (with an end date, only --rollover-cap 0); nothing was written.',
  expiry_days_invalid: 'The default expiry is a number of days from 1d to 1830d, like 90d, or none.',
  budget_not_empty:
    'That member still holds a budget, which a member cannot spend; nothing was changed. Add --return-budget to move it back to the treasury with the role change, or keep them a manager.',
} as const;

export type CliFailure = keyof typeof failureLines;

export function failureLine(failure: CliFailure, detail?: Record<string, unknown>): string {
  const line = failureLines[failure];
  if (failure === 'exceeds_budget' && detail && typeof detail.total === 'bigint' && typeof detail.budget === 'bigint') {
    return `${line} It needs ${formatTokens(detail.total)} and holds ${formatTokens(detail.budget)}.`;
  }
  if (failure === 'expiry_past' && typeof detail?.day === 'string' && typeof detail.example === 'string') {
    return `That expiry (${dayLabel(detail.day)}) has already passed; nothing was written. Use a later date, like --expires ${detail.example}, or a number of days, like --expires 90d.`;
  }
  if (failure === 'expiry_too_far' && typeof detail?.day === 'string' && typeof detail.latest === 'string') {
    return `That expiry (${dayLabel(detail.day)}) is more than 5 years ahead; nothing was written. Use a date up to --expires ${detail.latest}, or fewer days, like --expires 365d.`;
  }
  if (failure === 'budget_not_empty' && typeof detail?.budget === 'bigint') {
    return line.replace('holds a budget', `holds a budget of ${formatTokens(detail.budget)} tokens`);
  }
  return line;
}

export function describeMember(member: Pick<Member, 'id' | 'displayName' | 'email'>): string {
  return `${member.displayName}${member.email ? ` <${member.email}>` : ''} #${member.id}`;
}

/** Left-aligned columns separated by two spaces; amounts are right-aligned by the caller's padding. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, index) => Math.max(title.length, ...rows.map((row) => (row[index] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, index) => (index === cells.length - 1 ? cell : cell.padEnd(widths[index] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export { formatTokens };

/**
 * A chat message as plain text for the terminal (`allot digest preview`): the header, each line,
 * fields as "label: value", context lines indented; buttons are left out.
 */
export function formatChatMessage(message: ChatMessage): string {
  const lines: string[] = [];
  for (const block of message.blocks) {
    switch (block.type) {
      case 'header':
        lines.push(block.text, '='.repeat(Math.min(block.text.length, 72)));
        break;
      case 'text':
        lines.push(...block.lines.map(plainText));
        break;
      case 'fields':
        lines.push(...block.fields.map((field) => `${field.label}: ${plainText(field.value)}`));
        break;
      case 'context':
        lines.push(`  ${plainText(block.line)}`);
        break;
      case 'divider':
        lines.push('');
        break;
      case 'actions':
        break;
    }
  }
  return lines.join('\n');
}
