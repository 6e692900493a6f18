import type { Router } from 'express';
import type { TopUpRequest } from '../approvals/approvals.repository';
import * as approvalsRepo from '../approvals/approvals.repository';
import { runAction } from '../chat/actions.usecases';
import { actionIds } from '../chat/replies.models';
import * as ledgerRepo from '../ledger/ledger.repository';
import type { Ctx } from '../lib/context';
import { currentPeriod, periodStart } from '../lib/periods.models';
import * as membersRepo from '../members/members.repository';
import { maySeeBalance } from '../members/roles.models';
import { isNearLimit, nearLimitPercentLeft } from '../usage/limits.models';
import * as usageRepo from '../usage/usage.repository';
import type { HistoryWindowDays } from '../usage/usage-history.models';
import { membersUsageTotals } from '../usage/usage-history.repository';
import { getUsageHistory } from '../usage/usage-history.usecases';
import {
  chatMessageLines,
  type Dashboard,
  field,
  frameOf,
  positiveId,
  requireRole,
  sendPage,
  type Viewer,
  viewerOf,
} from './dashboard.http';
import { windowOf } from './me.routes';
import { type TeamPageData, type TeamReport, teamPage } from './views/team.view';

// "My team", for managers and admins: each direct report's balance, usage this month and near-limit
// state, and the top-up requests waiting for the viewer, with Approve and Deny. The buttons run the
// chat core's own click (runAction request.approve / request.deny): the same verb, the same checks,
// the same refusals in the same words, and the same edits of the approval messages in Slack and Teams.

/** Pending requests listed at once (the oldest first, as they expire first). */
const pendingListed = 100;

async function loadReports(ctx: Ctx, viewer: Viewer): Promise<TeamReport[]> {
  const orgId = viewer.organisation.id;
  const zone = viewer.organisation.timeZone;
  const now = ctx.clock.now();
  // Direct reports only: a member is shown to the manager they report to (roles.models maySeeBalance).
  const reports = (await membersRepo.listReports(ctx.db.orm, orgId, viewer.member.id)).filter((report) =>
    maySeeBalance({ viewer: viewer.member, target: report, viewerManagesTarget: true }),
  );
  if (reports.length === 0) return [];
  const accounts = await ledgerRepo.findMemberAccounts(
    ctx.db.orm,
    orgId,
    reports.map((report) => report.id),
  );
  const wallets = new Map(accounts.filter((a) => a.kind === 'wallet').map((a) => [a.memberId!, a]));
  const received = await usageRepo.receivedSince(
    ctx.db.orm,
    orgId,
    [...wallets.values()].map((wallet) => wallet.id),
    periodStart('month', zone, now),
  );
  const month = currentPeriod('month', now, zone);
  const usage = await membersUsageTotals(ctx.db.orm, {
    orgId,
    memberIds: reports.map((report) => report.id),
    ...month,
  });
  return reports.map((report) => {
    const wallet = wallets.get(report.id);
    const balance = wallet?.balance ?? 0n;
    const got = wallet ? (received.get(wallet.id) ?? 0n) : 0n;
    return {
      member: report,
      balance,
      held: wallet?.held ?? 0n,
      receivedThisMonth: got,
      usageThisMonth: usage.get(report.id),
      state:
        balance < 0n
          ? 'over'
          : isNearLimit({ balance, received: got, percentLeft: nearLimitPercentLeft })
            ? 'near'
            : 'ok',
    };
  });
}

async function loadPending(ctx: Ctx, viewer: Viewer) {
  const queue = await approvalsRepo.listPendingForApprover(ctx.db.orm, {
    orgId: viewer.organisation.id,
    approverId: viewer.member.id,
    includeAdminQueue: viewer.isAdmin,
    limit: pendingListed,
  });
  const visible = queue.filter((request) => request.requesterId !== viewer.member.id);
  const requesters = new Map(
    (
      await membersRepo.findMembers(
        ctx.db.orm,
        viewer.organisation.id,
        visible.map((request) => request.requesterId),
      )
    ).map((member) => [member.id, member]),
  );
  return visible.map((request: TopUpRequest) => ({ request, requester: requesters.get(request.requesterId) }));
}

async function loadTeam(ctx: Ctx, viewer: Viewer, days: HistoryWindowDays): Promise<TeamPageData> {
  const [reports, pending] = await Promise.all([loadReports(ctx, viewer), loadPending(ctx, viewer)]);
  const history = await getUsageHistory(ctx, {
    orgId: viewer.organisation.id,
    scope: { kind: 'members', memberIds: reports.map((report) => report.member.id) },
    days,
    by: 'model',
  });
  if (!history.ok) throw new Error('the team page has no organisation');
  return { reports, pending, history: history.value, days, timeZone: viewer.organisation.timeZone };
}

/** What a decision from the page says after the redirect. */
const decidedNotices: Record<string, string> = {
  approved: 'The request was approved: the tokens moved and the requester was told.',
  denied: 'The request was denied and the requester was told.',
};

/** Mounts My team and its Approve and Deny (relative to /dashboard). */
export function mountTeam(router: Router, dashboard: Dashboard): void {
  const { deps } = dashboard;
  const onlyApprovers = requireRole(
    (viewer) => viewer.seesTeam,
    'My team is for managers and admins. Your own tokens are on your Me page.',
  );

  router.get('/team', onlyApprovers, async (req, res) => {
    const viewer = viewerOf(res);
    const notice = typeof req.query.notice === 'string' ? decidedNotices[req.query.notice] : undefined;
    sendPage(
      res,
      200,
      teamPage({
        viewer: frameOf(viewer),
        data: await loadTeam(deps.ctx, viewer, windowOf(req)),
        notice: notice ? { kind: 'ok', lines: [notice] } : undefined,
      }),
    );
  });

  router.post('/team/requests/:id/:decision', onlyApprovers, async (req, res, next) => {
    const viewer = viewerOf(res);
    const decision = req.params.decision;
    const requestId = positiveId(req.params.id);
    if ((decision !== 'approve' && decision !== 'deny') || !requestId) return next();
    const outcome = await runAction(deps, {
      platform: 'web',
      org: viewer.organisation,
      actor: viewer.member,
      actionId: decision === 'approve' ? actionIds.approve : actionIds.deny,
      value: requestId.toString(),
      note: decision === 'deny' ? field(req, 'note') : undefined,
      replyVisibility: 'private',
    });
    if (outcome.ok)
      return res.redirect(303, `/dashboard/team?notice=${decision === 'approve' ? 'approved' : 'denied'}`);
    sendPage(
      res,
      409,
      teamPage({
        viewer: frameOf(viewer),
        data: await loadTeam(deps.ctx, viewer, 30),
        notice: { kind: 'problem', lines: chatMessageLines(outcome.reply) },
      }),
    );
  });
}
