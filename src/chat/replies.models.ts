import type { TopUpRequest } from '../approvals/approvals.repository';
import { formatTokens } from '../ledger/amount.models';
import type { MemberRole } from '../members/members.tables';
import { roleArticle } from '../members/roles.models';
import {
  type Block,
  type ChatMessage,
  context,
  type Line,
  type MessageAction,
  message,
  plainText,
  type Span,
  text,
} from '../notify/message.models';
import { openDashboardAction } from './dashboard.replies';
import {
  type ExpiryRefusal,
  expiryPastLines,
  expiryTooFarLines,
  validUntilSpans,
  validUntilText,
} from './expiry.replies';

// Every reply the chat core sends, built from spans: text typed by people is always a plain string
// span, which presenters escape for their platform, never markup spliced into a template.

export interface MemberRef {
  id: bigint;
  name: string;
}

export const member = (ref: MemberRef): Span => ({ member: { id: ref.id, name: ref.name } });
export const tokens = (amount: bigint): Span => ({ bold: `${formatTokens(amount)} tokens` });

/** Action ids the adapters route on; the value is the request id, or for an operation the operation itself. */
export const actionIds = {
  approve: 'request.approve',
  deny: 'request.deny',
  cancel: 'request.cancel',
  /** Confirm or cancel a large grant or budget issue; the value is the operation (confirmations.models.ts). */
  confirmOperation: 'operation.confirm',
  cancelOperation: 'operation.cancel',
} as const;
export type ActionId = (typeof actionIds)[keyof typeof actionIds];

export function isActionId(value: string): value is ActionId {
  return Object.values(actionIds).includes(value as ActionId);
}

/** True for the Confirm and Cancel buttons of a large operation, whose answer replaces the question. */
export function isOperationActionId(value: string): boolean {
  return value === actionIds.confirmOperation || value === actionIds.cancelOperation;
}

function reasonSpans(reason: string | null | undefined): Span[] {
  return reason ? [': ', { italic: reason }] : [];
}

// ---------------------------------------------------------------------------------------------
// failures: one table, every code a friendly reply that says what to do instead

export const chatFailures = [
  'amount_invalid',
  'no_recipients',
  'too_many_recipients',
  'self_grant',
  'not_a_manager',
  'recipient_not_found',
  'recipient_is_bot',
  'recipient_inactive',
  'exceeds_budget',
  'expiry_past',
  'expiry_too_far',
  'idempotency_conflict',
  'not_an_admin',
  'member_not_found',
  'manager_not_found',
  'own_manager',
  'reporting_cycle',
  'request_not_found',
  'not_the_approver',
  'request_already_decided',
  'request_expired',
  'not_the_requester',
  'no_approver',
  'too_many_pending',
  'unknown_person',
  'not_allowed_to_view',
  'unknown_action',
  'operation_too_large_to_confirm',
  'operation_not_yours',
  'operation_cancelled',
  'operation_already_confirmed',
  'operation_in_progress',
  'budget_not_empty',
  'member_inactive',
  'requester_inactive',
  'dashboard_off',
  'internal_error',
] as const;
export type ChatFailure = (typeof chatFailures)[number];

export function isChatFailure(value: string): value is ChatFailure {
  return (chatFailures as readonly string[]).includes(value);
}

/** What the runner knows about a failure, with names already looked up. */
export interface FailureContext {
  person?: MemberRef;
  decidedBy?: MemberRef | null;
  request?: TopUpRequest;
  budget?: bigint | null;
  total?: bigint;
  max?: number;
  /** A parser's own message (amounts). */
  message?: string;
  /** The command or action that failed, for the wording. */
  verb?: string;
  /** A command that would do what was refused (e.g. the CLI line that returns a budget). */
  suggestion?: string;
  /** An expiry refused: the day asked for and a day to suggest. */
  expiry?: ExpiryRefusal;
}

type FailureLine = (f: FailureContext) => Line[];

const failureLines: Record<ChatFailure, FailureLine> = {
  amount_invalid: (f) => [
    [f.message ?? 'That amount is not one I can use. Type a whole number like 50000, 50k or 1.5M.'],
  ],
  no_recipients: () => [['Name at least one person, e.g. ', { code: '/grant-tokens @ana 50k thanks' }, '.']],
  too_many_recipients: (f) => [[`One grant can name at most ${f.max ?? 50} people; split it into several.`]],
  self_grant: () => [
    ["You can't grant tokens to yourself. If you need more, ask with ", { code: '/request-tokens 50k why' }, '.'],
  ],
  not_a_manager: () => [
    [
      'Only managers (from their budget) and admins can grant tokens. To thank someone, ask your manager to grant, or use ',
      { code: '/request-tokens' },
      ' for yourself.',
    ],
  ],
  recipient_not_found: (f) => [
    [f.person ? member(f.person) : 'Someone you named', " isn't someone I know here. Pick people from the @ list."],
  ],
  recipient_is_bot: (f) => [
    [
      f.person ? member(f.person) : 'One of them',
      ' is a bot, and bots cannot receive tokens. Leave them out and try again.',
    ],
  ],
  recipient_inactive: (f) => [
    [
      f.person ? member(f.person) : 'One of them',
      ' is deactivated and cannot receive tokens. Leave them out and try again.',
    ],
  ],
  exceeds_budget: (f) => [
    [
      'That needs ',
      ...(f.total !== undefined ? [tokens(f.total)] : ['more than you have']),
      ...(f.budget !== undefined && f.budget !== null ? [' but your budget has ', tokens(f.budget)] : []),
      '. Nothing was moved. Try a smaller amount, or ask an admin to add to your budget.',
    ],
  ],
  expiry_past: (f) => expiryPastLines(f.expiry),
  expiry_too_far: (f) => expiryTooFarLines(f.expiry),
  idempotency_conflict: () => [
    [
      'That looks like a repeat of an earlier command with different details; nothing was changed. Run the command again.',
    ],
  ],
  not_an_admin: (f) => [[`Only admins can ${f.verb ?? 'do that'}. Ask one of your Allot admins.`]],
  member_not_found: (f) => [
    [
      f.person ? member(f.person) : 'That person',
      " isn't set up in Allot yet. Ask them to run ",
      { code: '/balance' },
      ' once.',
    ],
  ],
  manager_not_found: () => [
    ["I don't know that manager yet. Ask them to run ", { code: '/balance' }, ' once, then try again.'],
  ],
  own_manager: () => [["Someone can't be their own manager. Pick another person."]],
  reporting_cycle: () => [
    ['That would make a loop in the reporting line (they would manage their own manager). Pick another manager.'],
  ],
  request_not_found: () => [["I can't find that request any more."]],
  not_the_approver: () => [
    ["This request isn't yours to decide: it goes to the requester's manager, or to the admins when they have none."],
  ],
  request_already_decided: (f) => [decidedLine(f)],
  request_expired: () => [
    ['This request expired before anyone decided. The requester can ask again with ', { code: '/request-tokens' }, '.'],
  ],
  not_the_requester: () => [['Only the person who asked can cancel a request.']],
  no_approver: () => [
    [
      'Nobody can approve requests yet: you have no manager and there are no admins. Ask your workspace admin to set up Allot.',
    ],
  ],
  too_many_pending: (f) => [[`You already have ${f.max ?? 20} requests waiting. Cancel one or wait for a decision.`]],
  unknown_person: () => [["I couldn't look up someone you named (they may have left). Pick people from the @ list."]],
  not_allowed_to_view: () => [
    [
      "You can see your own balance; managers can see their reports' and admins anyone's. Try ",
      { code: '/balance' },
      '.',
    ],
  ],
  unknown_action: () => [["I didn't recognise that button. Try again from a fresh message or your Allot Home tab."]],
  operation_too_large_to_confirm: () => [
    [
      'That is more than one confirmation can hold (many people and a long reason). Nothing was moved. Split it, or shorten the reason.',
    ],
  ],
  operation_not_yours: () => [['Only the person who typed this command can confirm or cancel it.']],
  operation_cancelled: () => [
    ['This was cancelled, so nothing was moved. Type the command again if you want it after all.'],
  ],
  operation_already_confirmed: () => [
    [
      'This was already confirmed, so it cannot be cancelled here. An admin can undo it with ',
      { code: 'allot reverse' },
      '.',
    ],
  ],
  operation_in_progress: () => [
    ['This is already being confirmed. If nothing happened in a minute, type the command again.'],
  ],
  budget_not_empty: (f) => [
    [
      f.person ? member(f.person) : 'They',
      ' still holds ',
      ...(f.budget ? [tokens(f.budget)] : ['tokens']),
      ' in their budget, which a member cannot spend; nothing was changed. Keep them a manager, or have an operator run ',
      { code: f.suggestion ?? 'allot role ORG MEMBER member --return-budget' },
      ' on the server: it moves the budget back to the treasury and changes the role at once.',
    ],
  ],
  member_inactive: () => [
    ['You are deactivated in Allot, so you cannot receive tokens. Ask one of your Allot admins to reactivate you.'],
  ],
  requester_inactive: () => [
    [
      'The person who asked is deactivated in Allot and cannot receive tokens; nothing was moved. Deny the request, or ask an admin to reactivate them first.',
    ],
  ],
  dashboard_off: () => [
    [
      'The web dashboard is off. An operator turns it on by setting ',
      { code: 'DASHBOARD_URL' },
      ' to the address people reach Allot at (like ',
      { code: 'https://allot.acme.com' },
      ') and restarting Allot.',
    ],
  ],
  internal_error: () => [['Something went wrong on my side and nothing was changed. Please try again in a minute.']],
};

function decidedLine(f: FailureContext): Line {
  const state = f.request?.state ?? 'decided';
  const by: Span[] = f.decidedBy ? [' by ', member(f.decidedBy)] : [];
  switch (state) {
    case 'approved':
      return ['This request was already ', { bold: 'approved' }, ...by, '. Nothing more to do.'];
    case 'denied':
      return ['This request was already ', { bold: 'denied' }, ...by, '.'];
    case 'cancelled':
      return ['This request was ', { bold: 'cancelled' }, ' by the requester.'];
    default:
      return [`This request is already ${state}.`];
  }
}

export function failureReply(failure: ChatFailure, detail: FailureContext = {}): ChatMessage {
  const lines = failureLines[failure](detail);
  return message(plainText(lines[0] ?? []), text(...lines));
}

export function grammarReply(problem: string, usage: string): ChatMessage {
  return message(`${problem} Try: ${usage}`, text([problem]), text(['Try: ', { code: usage }]));
}

// ---------------------------------------------------------------------------------------------
// grants

export function grantConfirmation(input: {
  recipients: MemberRef[];
  amountEach: bigint;
  reason: string;
  budgetBalance: bigint | null;
  /** The day the tokens are valid until (`31 Dec 2026`); null or absent: they never expire. */
  validUntil?: string | null;
}): ChatMessage {
  const names: Span[] = [];
  input.recipients.forEach((recipient, index) => {
    if (index > 0) names.push(index === input.recipients.length - 1 ? ' and ' : ', ');
    names.push(member(recipient));
  });
  const each = input.recipients.length > 1 ? ' each' : '';
  const left: Block =
    input.budgetBalance === null
      ? context('Granted from the treasury.')
      : context('Left in your budget: ', tokens(input.budgetBalance));
  return message(
    `You granted ${formatTokens(input.amountEach)} tokens${each} to ${plainText(names)}${validUntilText(input.validUntil)}`,
    text([
      'You granted ',
      tokens(input.amountEach),
      each,
      ' to ',
      ...names,
      ...validUntilSpans(input.validUntil),
      ...reasonSpans(input.reason),
    ]),
    left,
  );
}

export function grantNotice(input: {
  granter: MemberRef;
  amount: bigint;
  reason: string;
  balance: bigint;
  validUntil?: string | null;
}): ChatMessage {
  return message(
    `${input.granter.name} granted you ${formatTokens(input.amount)} tokens${validUntilText(input.validUntil)}`,
    text([
      member(input.granter),
      ' granted you ',
      tokens(input.amount),
      ...validUntilSpans(input.validUntil),
      ...reasonSpans(input.reason),
    ]),
    context('Your balance is now ', tokens(input.balance), '. Type /balance to see more.'),
  );
}

export function budgetIssued(input: {
  manager: MemberRef;
  amount: bigint;
  budget: bigint;
  memo: string;
  validUntil?: string | null;
}): ChatMessage {
  return message(
    `Added ${formatTokens(input.amount)} tokens to ${input.manager.name}'s budget${validUntilText(input.validUntil)}`,
    text([
      'Added ',
      tokens(input.amount),
      ' to ',
      member(input.manager),
      "'s budget",
      ...validUntilSpans(input.validUntil),
      ...reasonSpans(input.memo),
    ]),
    context('Their budget is now ', tokens(input.budget), '.'),
  );
}

export function budgetNotice(input: {
  admin: MemberRef;
  amount: bigint;
  budget: bigint;
  memo: string;
  validUntil?: string | null;
}): ChatMessage {
  return message(
    `${input.admin.name} added ${formatTokens(input.amount)} tokens to your budget${validUntilText(input.validUntil)}`,
    text([
      member(input.admin),
      ' added ',
      tokens(input.amount),
      ' to your budget',
      ...validUntilSpans(input.validUntil),
      ...reasonSpans(input.memo),
    ]),
    context('Your budget is now ', tokens(input.budget), '. Grant with /grant-tokens @someone 10k why.'),
  );
}

// ---------------------------------------------------------------------------------------------
// large operations: confirm first

/** What a large operation will do, for its confirmation question. */
export type LargeOperation =
  | { kind: 'grant'; recipients: MemberRef[]; amountEach: bigint; total: bigint; reason: string }
  | { kind: 'budget'; manager: MemberRef; amount: bigint; memo: string };

/**
 * The private question before a large grant or budget issue: what would move, and Confirm / Cancel
 * buttons carrying `value` (the encoded operation). Nothing has moved yet.
 */
export function largeOperationQuestion(operation: LargeOperation, value: string, threshold: bigint): ChatMessage {
  const question: Line =
    operation.kind === 'grant'
      ? [
          'Grant ',
          tokens(operation.amountEach),
          ...(operation.recipients.length > 1
            ? [' each to ', ...namesOf(operation.recipients), ' (', tokens(operation.total), ' in all)']
            : [' to ', ...namesOf(operation.recipients)]),
          ...reasonSpans(operation.reason),
          '?',
        ]
      : [
          'Add ',
          tokens(operation.amount),
          ' to ',
          member(operation.manager),
          "'s budget",
          ...reasonSpans(operation.memo),
          '?',
        ];
  const total = operation.kind === 'grant' ? operation.total : operation.amount;
  return message(
    `Confirm: ${plainText(question)}`,
    text(question),
    context(
      `More than ${formatTokens(threshold)} tokens at once needs a confirmation. Nothing has moved yet, and only you can confirm.`,
    ),
    {
      type: 'actions',
      actions: [
        { id: actionIds.confirmOperation, label: `Confirm ${formatTokens(total)} tokens`, value, style: 'primary' },
        { id: actionIds.cancelOperation, label: 'Cancel', value },
      ],
    },
  );
}

/** What a cancelled confirmation shows instead of its question. */
export function operationCancelled(): ChatMessage {
  return message('Cancelled: nothing was moved.', text(['Cancelled: nothing was moved.']));
}

function namesOf(people: MemberRef[]): Span[] {
  const names: Span[] = [];
  people.forEach((person, index) => {
    if (index > 0) names.push(index === people.length - 1 ? ' and ' : ', ');
    names.push(member(person));
  });
  return names;
}

/** "Ana is now a **manager**." (the article from roleArticle). */
export function roleSet(input: { target: MemberRef; role: MemberRole }): ChatMessage {
  const article = roleArticle[input.role];
  return message(
    `${input.target.name} is now ${article} ${input.role}`,
    text([member(input.target), ` is now ${article} `, { bold: input.role }, '.']),
  );
}

export function managerSet(input: { target: MemberRef; manager: MemberRef | null }): ChatMessage {
  if (!input.manager) {
    return message(
      `${input.target.name} has no manager now`,
      text([member(input.target), ' has no manager now; their requests go to the admins.']),
    );
  }
  return message(
    `${input.manager.name} now manages ${input.target.name}`,
    text([member(input.manager), ' now manages ', member(input.target), '.']),
  );
}

/**
 * `/tokens help`: the commands this person may use. With `dashboard` (DASHBOARD_URL is set), a line for
 * `/tokens dashboard` and an "Open dashboard" button that answers with a fresh sign-in link.
 */
export function helpMessage(isAdmin: boolean, options: { dashboard?: boolean } = {}): ChatMessage {
  const blocks: Block[] = [
    { type: 'header', text: 'Allot: AI tokens as a form of pay' },
    text(
      [{ code: '/balance' }, ' your tokens, recent grants and usage, requests waiting'],
      [{ code: '/balance @ana' }, " someone else's (managers: their reports; admins: anyone)"],
      [
        { code: '/grant-tokens @ana @ben 50k shipped the migration' },
        ' managers from their budget, admins from the treasury',
      ],
      [{ code: '/request-tokens 200k eval runs' }, ' ask your manager (or the admins) for more'],
      [
        { code: '/tokens approve 12 for 90d' },
        ' approve request #12 with tokens that expire (the button uses the default)',
      ],
      [{ code: '/leaderboard week' }, ' value-weighted use over a week, month or quarter'],
      [{ code: '/tokens leaderboard opt-out' }, ' (or opt-in) leave or rejoin the leaderboard'],
      ...(options.dashboard
        ? [[{ code: '/tokens dashboard' }, ' a private sign-in link to the web dashboard'] satisfies Line]
        : []),
    ),
  ];
  if (isAdmin) {
    blocks.push(
      { type: 'divider' },
      text(
        [{ bold: 'Admin' }],
        [{ code: '/tokens role @ana admin|manager|member' }],
        [{ code: '/tokens manager @ana @mia' }, ' (or ', { code: 'none' }, ')'],
        [{ code: '/tokens budget @mia 500k Q3 budget' }, ' issue tokens from the treasury into a budget'],
        [
          { code: '/tokens default-expiry 90d' },
          ' how long granted tokens last when a command names no expiry (or none)',
        ],
        [
          { code: '/tokens price gpt-4o 2.50 10' },
          ' dollars per million input / output tokens (',
          { code: '/tokens price' },
          ' lists)',
        ],
        [{ code: '/tokens weight review 1.5' }, ' value weight of a usage category'],
        [{ code: '/tokens leaderboard off|on|hide-money|show-money|top 10' }],
        [{ code: '/tokens apikey create ci-gateway' }, ' (or list, revoke) keys for POST /v1/usage'],
        [{ code: '/tokens digest #general "0 9 * * MON" Europe/Berlin' }, ' weekly digest (or off, preview)'],
        [
          { code: '/tokens allowance member 200k monthly rollover 50k' },
          ' recurring allowance (or @ana …, off member)',
        ],
      ),
    );
  }
  blocks.push(
    context(
      'Amounts: 50000, 50k, 1.5M or 50,000. Expiry: end a grant, budget or approval with for 90d, expires 2026-12-31 or expires never.',
    ),
  );
  if (options.dashboard) blocks.push({ type: 'actions', actions: [openDashboardAction] });
  return message('Allot commands: /balance, /grant-tokens, /request-tokens, /leaderboard, /tokens help', ...blocks);
}

export function leaderboardComingSoon(window: string): ChatMessage {
  return message(
    'The leaderboard is coming soon',
    text([
      `The ${window} leaderboard is coming soon: it appears once AI usage is being recorded for your organisation.`,
    ]),
  );
}

// ---------------------------------------------------------------------------------------------
// requests and approvals

export function requestCreated(input: {
  request: TopUpRequest;
  approvers: MemberRef[];
  created: boolean;
}): ChatMessage {
  const to: Span[] =
    input.approvers.length === 1
      ? [member(input.approvers[0]!)]
      : [input.approvers.length > 1 ? 'the admins' : 'the approvers'];
  const actions: MessageAction[] =
    input.request.state === 'pending'
      ? [{ id: actionIds.cancel, label: 'Cancel request', value: input.request.id.toString() }]
      : [];
  return message(
    `Asked for ${formatTokens(input.request.amount)} tokens`,
    text(['Asked ', ...to, ' for ', tokens(input.request.amount), ...reasonSpans(input.request.reason)]),
    context(`Request #${input.request.id}. I'll tell you when it is decided; it expires if nobody decides in time.`),
    ...(actions.length ? [{ type: 'actions' as const, actions }] : []),
  );
}

/** The approval message: with buttons while pending, with the outcome and who decided afterwards. */
export function approvalCard(input: {
  request: TopUpRequest;
  requester: MemberRef;
  decidedBy?: MemberRef | null;
}): ChatMessage {
  const { request } = input;
  const id = request.id.toString();
  const blocks: Block[] = [
    text([member(input.requester), ' asks for ', tokens(request.amount), ...reasonSpans(request.reason)]),
  ];
  const by: Span[] = input.decidedBy ? [' by ', member(input.decidedBy)] : [];
  switch (request.state) {
    case 'pending':
      blocks.push(
        context(`Request #${id} · expires ${request.expiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`),
        {
          type: 'actions',
          actions: [
            { id: actionIds.approve, label: 'Approve', value: id, style: 'primary' },
            { id: actionIds.deny, label: 'Deny', value: id, style: 'danger' },
          ],
        },
      );
      break;
    case 'approved':
      blocks.push(context('✅ ', { bold: 'Approved' }, ...by, ` · request #${id}`));
      break;
    case 'denied':
      blocks.push(context('❌ ', { bold: 'Denied' }, ...by, ...reasonSpans(request.decisionNote), ` · request #${id}`));
      break;
    case 'cancelled':
      blocks.push(context('↩️ ', { bold: 'Cancelled' }, ' by the requester', ` · request #${id}`));
      break;
    case 'expired':
      blocks.push(context('⌛ ', { bold: 'Expired' }, ' without a decision', ` · request #${id}`));
      break;
  }
  return message(
    `${input.requester.name} asks for ${formatTokens(request.amount)} tokens (${request.state})`,
    { type: 'header', text: 'Top-up request' },
    ...blocks,
  );
}

export function decisionConfirmation(input: {
  request: TopUpRequest;
  requester: MemberRef;
  budgetBalance: bigint | null;
  validUntil?: string | null;
}): ChatMessage {
  const approved = input.request.state === 'approved';
  return message(
    `${approved ? 'Approved' : 'Denied'} ${input.requester.name}'s request`,
    text([
      approved ? 'Approved: ' : 'Denied: ',
      member(input.requester),
      approved ? ' received ' : ' will not receive ',
      tokens(input.request.amount),
      ...(approved ? validUntilSpans(input.validUntil) : []),
      '.',
    ]),
    ...(approved && input.budgetBalance !== null
      ? [context('Left in your budget: ', tokens(input.budgetBalance))]
      : []),
  );
}

export function decisionNotice(input: {
  request: TopUpRequest;
  decidedBy: MemberRef | null;
  balance?: bigint;
  validUntil?: string | null;
}): ChatMessage {
  const { request } = input;
  const by: Span[] = input.decidedBy ? [' by ', member(input.decidedBy)] : [];
  switch (request.state) {
    case 'approved':
      return message(
        `Your request for ${formatTokens(request.amount)} tokens was approved${validUntilText(input.validUntil)}`,
        text([
          'Your request for ',
          tokens(request.amount),
          ' was ',
          { bold: 'approved' },
          ...by,
          ...validUntilSpans(input.validUntil),
          '.',
        ]),
        ...(input.balance !== undefined ? [context('Your balance is now ', tokens(input.balance), '.')] : []),
      );
    case 'denied':
      return message(
        `Your request for ${formatTokens(request.amount)} tokens was denied`,
        text([
          'Your request for ',
          tokens(request.amount),
          ' was ',
          { bold: 'denied' },
          ...by,
          ...reasonSpans(request.decisionNote),
        ]),
      );
    case 'expired':
      return message(
        `Your request for ${formatTokens(request.amount)} tokens expired`,
        text([
          'Your request for ',
          tokens(request.amount),
          ' expired before anyone decided. Ask again with ',
          { code: '/request-tokens' },
          ' if you still need it.',
        ]),
      );
    default:
      return message(`Your request is ${request.state}`, text([`Your request #${request.id} is ${request.state}.`]));
  }
}

export function cancelConfirmation(request: TopUpRequest): ChatMessage {
  return message(
    `Cancelled your request for ${formatTokens(request.amount)} tokens`,
    text(['Cancelled your request for ', tokens(request.amount), '.']),
  );
}

/** Appended to a reply when a direct message could not be delivered; the ledger change stands. */
export function deliveryProblemLine(input: { person: MemberRef; reason: string }): Block {
  const why =
    input.reason === 'unreachable'
      ? 'they may have left or blocked the app'
      : input.reason === 'no_identity'
        ? 'they are not on a platform I can message'
        : 'the chat service refused';
  return context(
    '⚠️ I could not message ',
    member(input.person),
    ` (${why}). What was done stands; please tell them yourself.`,
  );
}
