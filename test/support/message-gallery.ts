import type { TopUpRequest } from '../../src/approvals/approvals.repository';
import { defaultExpiryMessage } from '../../src/chat/expiry.replies';
import {
  approvalCard,
  budgetIssued,
  budgetNotice,
  chatFailures,
  decisionConfirmation,
  decisionNotice,
  failureReply,
  grammarReply,
  grantConfirmation,
  grantNotice,
  helpMessage,
  type MemberRef,
  managerSet,
  requestCreated,
  roleSet,
} from '../../src/chat/replies.models';
import { balanceMessage, type MemberSummary } from '../../src/chat/summary.usecases';
import { digestMessage, limitWatchMessage } from '../../src/digest/digest.models';
import { expiryReminderMessage, tokensExpiredMessage } from '../../src/digest/expiry-reminders.models';
import type { Transfer } from '../../src/ledger/ledger.repository';
import type { Member } from '../../src/members/members.repository';
import type { ChatMessage } from '../../src/notify/message.models';
import { leaderboardReply, lowBalanceReply, overageManagerReply } from '../../src/usage/usage.replies';

// Every kind of message Allot builds, with a person's name and a memo chosen by the test: the table
// the rendering tests run hostile names through, for Adaptive Cards and for Block Kit alike.

/** Names and memos that break naive Markdown or mrkdwn, each as people really write them. */
export const hostileNames = [
  'Adele Vance',
  'Ana *the* Lima',
  'A_b_c',
  '_init_ Bot',
  '<b>x</b>',
  'Tom & Jerry',
  'Tom &amp; Jerry',
  '[click](https://evil.example)',
  '**Admin**',
  '~strike~ me',
  '`tick`',
  'back\\slash',
  '> quoted',
  '# Heading',
  '1. First',
  '- dash',
  '<at>Boss</at>',
  '<!channel> <@U999>',
  '(Ops)',
  'Zoë Ñúñez',
];

const at = new Date('2026-11-30T09:00:00Z');

function memberRow(id: bigint, name: string): Member {
  return {
    orgId: 1n,
    id,
    displayName: name,
    email: null,
    timeZone: null,
    role: 'member',
    managerId: null,
    isBot: false,
    isActive: true,
    leaderboardOptOut: false,
    createdAt: at,
  } as Member;
}

function request(requesterId: bigint, memo: string, state: TopUpRequest['state']): TopUpRequest {
  return {
    orgId: 1n,
    id: 42n,
    requesterId,
    amount: 200_000n,
    reason: memo,
    state,
    approverId: 2n,
    idempotencyKey: 'k',
    createdAt: at,
    expiresAt: new Date(at.getTime() + 72 * 3_600_000),
    decidedAt: state === 'pending' ? null : at,
    decidedById: state === 'pending' ? null : 2n,
    decisionNote: state === 'denied' ? memo : null,
    transferId: null,
  } as TopUpRequest;
}

function transfer(memo: string): Transfer {
  return {
    orgId: 1n,
    id: 7n,
    idempotencyKey: 'op',
    leg: 0,
    requestHash: 'h',
    debitAccountId: 10n,
    creditAccountId: 11n,
    amount: 12_000n,
    code: 'grant',
    actorMemberId: 2n,
    platform: 'slack',
    memo,
    reversesTransferId: null,
    createdAt: at,
  } as Transfer;
}

export interface GalleryItem {
  /** What the message is, for test names. */
  kind: string;
  message: ChatMessage;
  /** Members shown in it (for real mentions where the platform identity is known). */
  members: MemberRef[];
}

/** One of every message Allot builds, naming `name` (a person) and carrying `memo`. */
export function messageGallery(name: string, memo: string): GalleryItem[] {
  const person: MemberRef = { id: 1n, name };
  const manager: MemberRef = { id: 2n, name: `${name} (manager)` };
  const both = [person, manager];
  const summary: MemberSummary = {
    member: memberRow(1n, name),
    wallet: 12_000n,
    held: 4_000n,
    budget: 0n,
    recent: [{ transfer: transfer(memo), direction: 1, counterpart: manager }],
    ownRequests: [request(1n, memo, 'pending')],
    expiring: { wallet: { tokens: 2_000n, day: '2026-12-31', at: new Date('2027-01-01T00:00:00Z') } },
  };
  const board = {
    window: 'week' as const,
    period: { start: '2026-11-23', end: '2026-11-30' },
    timeZone: 'Europe/Berlin',
    hideMoney: false,
    topN: 10,
    entries: [
      {
        memberId: 1n,
        displayName: name,
        rank: 1,
        events: 3n,
        tokens: 60_000n,
        value: 60_000n,
        costMicros: 1_500_000n,
        valuePerMoney: 40_000n,
      },
    ],
    ranked: 1,
    asker: { state: 'no_usage' as const },
  };
  const items: GalleryItem[] = [
    { kind: 'balance of someone else', message: balanceMessage(summary, false), members: both },
    { kind: 'own balance', message: balanceMessage(summary, true), members: both },
    {
      kind: 'grant confirmation',
      message: grantConfirmation({ recipients: both, amountEach: 50_000n, reason: memo, budgetBalance: 10_000n }),
      members: both,
    },
    {
      kind: 'grant notice',
      message: grantNotice({ granter: manager, amount: 50_000n, reason: memo, balance: 62_000n }),
      members: both,
    },
    {
      kind: 'grant notice (expiring)',
      message: grantNotice({
        granter: manager,
        amount: 50_000n,
        reason: memo,
        balance: 62_000n,
        validUntil: '31 Dec 2026',
      }),
      members: both,
    },
    {
      kind: 'expiry reminder',
      message: expiryReminderMessage({ tokens: 2_000n, day: '2026-12-31', days: 7, account: 'wallet' }),
      members: both,
    },
    {
      kind: 'tokens expired',
      message: tokensExpiredMessage({ tokens: 2_000n, day: '2026-12-31', account: 'budget', balance: 0n }),
      members: both,
    },
    { kind: 'default expiry', message: defaultExpiryMessage({ days: 90, changed: true }), members: both },
    {
      kind: 'budget issued',
      message: budgetIssued({ manager, amount: 500_000n, budget: 500_000n, memo }),
      members: both,
    },
    {
      kind: 'budget notice',
      message: budgetNotice({ admin: person, amount: 500_000n, budget: 500_000n, memo }),
      members: both,
    },
    { kind: 'role set', message: roleSet({ target: person, role: 'manager' }), members: both },
    { kind: 'manager set', message: managerSet({ target: person, manager }), members: both },
    {
      kind: 'request created',
      message: requestCreated({ request: request(1n, memo, 'pending'), approvers: [manager], created: true }),
      members: both,
    },
    {
      kind: 'approval card (pending)',
      message: approvalCard({ request: request(1n, memo, 'pending'), requester: person }),
      members: both,
    },
    {
      kind: 'approval card (denied)',
      message: approvalCard({ request: request(1n, memo, 'denied'), requester: person, decidedBy: manager }),
      members: both,
    },
    {
      kind: 'decision confirmation',
      message: decisionConfirmation({ request: request(1n, memo, 'approved'), requester: person, budgetBalance: 5n }),
      members: both,
    },
    {
      kind: 'decision notice (denied)',
      message: decisionNotice({ request: request(1n, memo, 'denied'), decidedBy: manager }),
      members: both,
    },
    { kind: 'leaderboard', message: leaderboardReply(board), members: both },
    {
      kind: 'weekly digest',
      message: digestMessage({
        organisationName: name,
        from: new Date('2026-11-23T00:00:00Z'),
        to: new Date('2026-11-30T00:00:00Z'),
        timeZone: 'UTC',
        leaderboard: [{ rank: 1, memberId: 1n, name, tokens: 60_000n, value: 60_000n, costMicros: 1_500_000n }],
        hideMoney: false,
        totals: { events: 3n, tokens: 60_000n, value: 60_000n, costMicros: 1_500_000n, members: 1 },
        previousTotals: { events: 1n, tokens: 10_000n, value: 10_000n, costMicros: 500_000n, members: 1 },
        grants: {
          grants: 2,
          total: 100_000n,
          topRecipients: [{ memberId: 1n, name, amount: 50_000n }],
          topGranters: [{ memberId: 2n, name: manager.name, amount: 100_000n }],
        },
        requests: { approved: 1, denied: 0, expired: 0, approvedTokens: 200_000n },
        movers: [{ memberId: 1n, name, value: 60_000n, previousValue: 10_000n }],
        expiredTokens: 1_200n,
      }),
      members: both,
    },
    {
      kind: 'limit watch',
      message: limitWatchMessage(
        [{ memberId: 1n, name, managerId: 2n, balance: -5n, received: 100n }],
        [
          {
            memberId: 1n,
            name,
            managerId: 2n,
            tokens: 300n,
            firstExpiresAt: new Date('2027-01-01T00:00:00Z'),
            timeZone: 'UTC',
          },
        ],
      ),
      members: both,
    },
    {
      kind: 'low balance alert',
      message: lowBalanceReply({ threshold: 'left_20', balance: 100n, received: 1_000n }),
      members: both,
    },
    {
      kind: 'overage (manager)',
      message: overageManagerReply({ memberId: 1n, memberName: name, balance: -5n }),
      members: both,
    },
    { kind: 'help', message: helpMessage(true), members: both },
    { kind: 'grammar refusal', message: grammarReply(`No amount given for ${name}.`, memo), members: both },
  ];
  for (const failure of chatFailures) {
    items.push({
      kind: `error: ${failure}`,
      message: failureReply(failure, {
        person,
        decidedBy: manager,
        request: request(1n, memo, 'approved'),
        budget: 10n,
        total: 20n,
        max: 50,
        message: `Not an amount: ${memo}`,
        verb: 'do that',
      }),
      members: both,
    });
  }
  return items;
}
