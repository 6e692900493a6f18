import type { Request, Router } from 'express';
import { nextAllowance } from '../allowances/allowances.usecases';
import { runAction } from '../chat/actions.usecases';
import { actionIds } from '../chat/replies.models';
import { loadMemberSummary } from '../chat/summary.usecases';
import { expiringWalletLots } from '../ledger/lots.usecases';
import type { Ctx } from '../lib/context';
import { validUntilLabel } from '../lib/expiry.models';
import { type HistoryWindowDays, historyWindowsDays } from '../usage/usage-history.models';
import { getUsageHistory } from '../usage/usage-history.usecases';
import {
  chatMessageLines,
  type Dashboard,
  frameOf,
  positiveId,
  sendPage,
  type Viewer,
  viewerOf,
} from './dashboard.http';
import { type ExpiringGrant, type MePageData, mePage } from './views/me.view';

// The "Me" page: what the person signed in holds and did. Everyone signed in sees it, and only their
// own data: every read below is keyed by the session's member, never by anything in the request.

/** Transfers and requests listed on the page. */
const recentTransfersListed = 20;
const ownRequestsListed = 20;

/** The usage window asked for (`?days=30|90`), 30 by default. */
export function windowOf(req: Request): HistoryWindowDays {
  const asked = Number(req.query.days);
  return historyWindowsDays.find((days) => days === asked) ?? 30;
}

/** Lots listed under "Tokens expiring". */
const expiringLotsListed = 10;

/**
 * The tokens in the member's wallet that will expire, soonest first: one line per lot (a grant, a
 * top-up, an allowance), what its expiry will move to `expired`, and the day it is valid until in the
 * member's own zone.
 */
async function grantsExpiringSoon(ctx: Ctx, input: { orgId: bigint; memberId: bigint }): Promise<ExpiringGrant[]> {
  const { lots, timeZone } = await expiringWalletLots(ctx, { ...input, limit: expiringLotsListed });
  return lots.map((lot) => ({
    amount: lot.tokens,
    expiresAt: lot.expiresAt,
    validUntil: validUntilLabel(lot.expiresAt, timeZone),
    memo: lot.memo,
  }));
}

async function loadMe(ctx: Ctx, viewer: Viewer, days: HistoryWindowDays): Promise<MePageData> {
  const orgId = viewer.organisation.id;
  const memberId = viewer.member.id;
  const [summary, next, history, expiring] = await Promise.all([
    loadMemberSummary(ctx, orgId, memberId, { recent: recentTransfersListed, requests: ownRequestsListed }),
    nextAllowance(ctx, { orgId, memberId }),
    getUsageHistory(ctx, { orgId, scope: { kind: 'members', memberIds: [memberId] }, days, by: 'model' }),
    grantsExpiringSoon(ctx, { orgId, memberId }),
  ]);
  if (!summary || !history.ok) throw new Error(`the Me page of member ${memberId} has no accounts`);
  return { summary, next, history: history.value, expiring, days, timeZone: viewer.organisation.timeZone };
}

/** Mounts the Me page and its one action, cancelling one's own pending request (relative to /dashboard). */
export function mountMe(router: Router, dashboard: Dashboard): void {
  const { deps } = dashboard;
  router.get('/me', async (req, res) => {
    const viewer = viewerOf(res);
    const data = await loadMe(deps.ctx, viewer, windowOf(req));
    const notice =
      req.query.notice === 'cancelled' ? { kind: 'ok' as const, lines: ['Your request was cancelled.'] } : undefined;
    sendPage(res, 200, mePage({ viewer: frameOf(viewer), data, notice }));
  });

  // The chat core's own click (runAction request.cancel): the same verb, checks and words as the
  // Cancel button in Slack and Teams.
  router.post('/me/requests/:id/cancel', async (req, res) => {
    const viewer = viewerOf(res);
    const requestId = positiveId(req.params.id);
    const outcome = requestId
      ? await runAction(deps, {
          platform: 'web',
          org: viewer.organisation,
          actor: viewer.member,
          actionId: actionIds.cancel,
          value: requestId.toString(),
          replyVisibility: 'private',
        })
      : undefined;
    if (outcome?.ok) return res.redirect(303, '/dashboard/me?notice=cancelled');
    const data = await loadMe(deps.ctx, viewer, 30);
    const lines = outcome ? chatMessageLines(outcome.reply) : ['There is no such request.'];
    sendPage(res, 409, mePage({ viewer: frameOf(viewer), data, notice: { kind: 'problem', lines } }));
  });
}
