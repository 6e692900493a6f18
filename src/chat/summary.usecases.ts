import type { TopUpRequest } from '../approvals/approvals.repository';
import * as approvalsRepo from '../approvals/approvals.repository';
import { formatTokens } from '../ledger/amount.models';
import type { Transfer } from '../ledger/ledger.repository';
import * as ledgerRepo from '../ledger/ledger.repository';
import { getBalances } from '../ledger/ledger.usecases';
import { memberNextExpiries, type NextExpiry } from '../ledger/lots.usecases';
import type { Ctx } from '../lib/context';
import type { Member } from '../members/members.repository';
import * as membersRepo from '../members/members.repository';
import { type Block, type ChatMessage, context, type Line, message, type Span, text } from '../notify/message.models';
import { isNextExpiryBlock, nextExpiryBlocks } from './expiry.replies';
import { actionIds, approvalCard, type MemberRef, member, tokens } from './replies.models';

/** Recent transfers shown in /balance and on the Home tab. */
export const recentTransfersShown = 5;
/** Own requests shown; a manager's queue shown on the Home tab (each takes three blocks). */
export const ownRequestsShown = 5;
export const teamPendingShown = 8;

export interface MemberSummary {
  member: Member;
  wallet: bigint;
  /** Held by open reservations: AI calls in flight (README, "Reservations"). */
  held: bigint;
  budget: bigint;
  recent: { transfer: Transfer; direction: 1 | -1; counterpart: MemberRef | null }[];
  ownRequests: TopUpRequest[];
  /** The next tokens to expire in the wallet and in the budget (days in the member's zone); absent: none. */
  expiring: { wallet?: NextExpiry; budget?: NextExpiry };
}

export const refOf = (m: Pick<Member, 'id' | 'displayName'>): MemberRef => ({ id: m.id, name: m.displayName });

/**
 * A member's balances, latest wallet transfers (`options.recent`, default `recentTransfersShown`) with
 * who made each, and own requests (`options.requests`, default `ownRequestsShown`), newest first.
 */
export async function loadMemberSummary(
  ctx: Ctx,
  orgId: bigint,
  memberId: bigint,
  options: { recent?: number; requests?: number } = {},
): Promise<MemberSummary | undefined> {
  const target = await membersRepo.findMember(ctx.db.orm, orgId, memberId);
  const balances = await getBalances(ctx.db.orm, orgId, memberId);
  if (!target || !balances) return undefined;
  const transfers = await ledgerRepo.listTransfers(ctx.db.orm, {
    orgId,
    accountIds: [balances.walletAccountId],
    limit: options.recent ?? recentTransfersShown,
  });
  const actorIds = [...new Set(transfers.map((t) => t.actorMemberId).filter((id): id is bigint => id !== null))];
  const actors = new Map((await membersRepo.findMembers(ctx.db.orm, orgId, actorIds)).map((m) => [m.id, m]));
  const ownRequests = await approvalsRepo.listRequestsByRequester(ctx.db.orm, {
    orgId,
    requesterId: memberId,
    limit: options.requests ?? ownRequestsShown,
  });
  const expiring = await memberNextExpiries(ctx, { orgId, memberId });
  return {
    member: target,
    wallet: balances.wallet,
    held: balances.held,
    budget: balances.budget,
    recent: transfers.map((transfer) => {
      const actor = transfer.actorMemberId === null ? undefined : actors.get(transfer.actorMemberId);
      return {
        transfer,
        direction: transfer.creditAccountId === balances.walletAccountId ? 1 : -1,
        counterpart: actor && actor.id !== memberId ? refOf(actor) : null,
      };
    }),
    ownRequests,
    expiring,
  };
}

function transferLine(entry: MemberSummary['recent'][number]): Line {
  const { transfer, direction, counterpart } = entry;
  const sign = direction > 0 ? '+' : '−';
  const what: Span[] =
    transfer.code === 'grant'
      ? ['grant', ...(counterpart ? [' from ', member(counterpart)] : [])]
      : transfer.code === 'topup'
        ? ['top-up', ...(counterpart ? [' approved by ', member(counterpart)] : [])]
        : transfer.code === 'usage'
          ? ['AI usage']
          : [transfer.code];
  const memo: Span[] = transfer.memo && transfer.code !== 'usage' ? [' — ', { italic: transfer.memo }] : [];
  return [
    { bold: `${sign}${formatTokens(transfer.amount)}` },
    ' ',
    ...what,
    ...memo,
    ` · ${transfer.createdAt.toISOString().slice(0, 10)}`,
  ];
}

function requestLine(request: TopUpRequest): Line {
  return [
    `#${request.id} `,
    { bold: `${formatTokens(request.amount)} tokens` },
    request.reason ? ` (${request.reason.length > 80 ? `${request.reason.slice(0, 80)}…` : request.reason})` : '',
    ` · ${request.state}`,
  ];
}

/** The blocks describing a member's tokens, shared by /balance and the Home tab. */
export function summaryBlocks(summary: MemberSummary, options: { own: boolean; withCancel: boolean }): Block[] {
  const showBudget = summary.member.role !== 'member' || summary.budget > 0n;
  const blocks: Block[] = [
    {
      type: 'fields',
      fields: [
        { label: 'Wallet', value: [tokens(summary.wallet), ...(summary.wallet < 0n ? [' (over by usage)'] : [])] },
        // Shown only while AI calls hold tokens, so a balance with nothing in flight reads as before.
        ...(summary.held > 0n
          ? [
              { label: 'Held by AI calls in flight', value: [tokens(summary.held)] },
              { label: 'Available', value: [tokens(summary.wallet - summary.held)] },
            ]
          : []),
        ...(showBudget ? [{ label: 'Budget to grant', value: [tokens(summary.budget)] }] : []),
      ],
    },
    // "100 tokens expire on 31 Dec 2026", right under the balance; nothing when none expire.
    ...nextExpiryBlocks({ wallet: summary.expiring.wallet, budget: showBudget ? summary.expiring.budget : undefined }),
  ];
  if (summary.recent.length > 0) {
    blocks.push(text([{ bold: 'Recent' }], ...summary.recent.map(transferLine)));
  } else {
    blocks.push(context('No grants or usage yet.'));
  }
  const pending = summary.ownRequests.filter((r) => r.state === 'pending');
  const others = summary.ownRequests.filter((r) => r.state !== 'pending');
  if (pending.length > 0) {
    blocks.push(
      text([{ bold: options.own ? 'Your requests waiting' : 'Requests waiting' }], ...pending.map(requestLine)),
    );
    if (options.withCancel) {
      blocks.push({
        type: 'actions',
        actions: pending
          .slice(0, 5)
          .map((r) => ({ id: actionIds.cancel, label: `Cancel #${r.id}`, value: r.id.toString() })),
      });
    }
  }
  if (others.length > 0)
    blocks.push(context('Earlier requests: ', others.map((r) => `#${r.id} ${r.state}`).join(', ')));
  return blocks;
}

export function balanceMessage(summary: MemberSummary, own: boolean, usage: Block[] = []): ChatMessage {
  const who = own ? 'Your balance' : `Balance of ${summary.member.displayName}`;
  const blocks = summaryBlocks(summary, { own, withCancel: false });
  const after = blocks.findIndex((block, index) => index > 0 && !isNextExpiryBlock(block));
  const head = after < 0 ? blocks.length : after;
  return message(
    `${who}: ${formatTokens(summary.wallet)} tokens`,
    // Someone else's balance is headed by their name, not a mention: looking must not notify them.
    { type: 'header', text: own ? 'Your tokens' : `Tokens of ${summary.member.displayName}` },
    // Usage by model goes right after the balance fields and the next expiry.
    ...blocks.slice(0, head),
    ...usage,
    ...blocks.slice(head),
  );
}

/** The Home tab: the member's tokens and requests, and for managers and admins the requests waiting for them. */
export async function buildHome(ctx: Ctx, input: { orgId: bigint; memberId: bigint }): Promise<ChatMessage> {
  const summary = await loadMemberSummary(ctx, input.orgId, input.memberId);
  if (!summary) return message('Allot', text(['Welcome to Allot. Type ', { code: '/tokens help' }, ' to start.']));
  const blocks: Block[] = [
    { type: 'header', text: 'Your tokens' },
    ...summaryBlocks(summary, { own: true, withCancel: true }),
  ];
  if (summary.member.role !== 'member') {
    const queue = await approvalsRepo.listPendingForApprover(ctx.db.orm, {
      orgId: input.orgId,
      approverId: input.memberId,
      includeAdminQueue: summary.member.role === 'admin',
      limit: teamPendingShown,
    });
    const visible = queue.filter((r) => r.requesterId !== input.memberId);
    blocks.push({ type: 'divider' }, { type: 'header', text: 'Waiting for your decision' });
    if (visible.length === 0) blocks.push(context('No requests are waiting for you.'));
    const requesters = new Map(
      (
        await membersRepo.findMembers(
          ctx.db.orm,
          input.orgId,
          visible.map((r) => r.requesterId),
        )
      ).map((m) => [m.id, m]),
    );
    for (const request of visible) {
      const requester = requesters.get(request.requesterId);
      const card = approvalCard({
        request,
        requester: requester ? refOf(requester) : { id: request.requesterId, name: 'someone' },
      });
      blocks.push(...card.blocks.filter((block) => block.type !== 'header'));
    }
  }
  blocks.push(context('Commands: /balance · /grant-tokens · /request-tokens · /leaderboard · /tokens help'));
  return message(`Your balance: ${formatTokens(summary.wallet)} tokens`, ...blocks);
}
