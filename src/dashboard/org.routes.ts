import type { Request, Router } from 'express';
import { listBudgets } from '../ledger/budgets.repository';
import type { Ctx } from '../lib/context';
import { periodStart } from '../lib/periods.models';
import { getLeaderboard } from '../usage/leaderboard.usecases';
import { type LeaderboardWindow, leaderboardWindows } from '../usage/usage.tables';
import type { UsageDimension } from '../usage/usage-history.repository';
import { getUsageHistory } from '../usage/usage-history.usecases';
import { type Dashboard, frameOf, requireRole, sendPage, type Viewer, viewerOf } from './dashboard.http';
import { windowOf } from './me.routes';
import { type OrgPageData, orgPage } from './views/org.view';

// The organisation page, for admins: usage and money over time by model or category, the leaderboard
// as the organisation's privacy settings show it (the leaderboard verb itself), and budgets by manager.

/** `?by=model|category`, by model when absent or anything else. */
function dimensionOf(req: Request): UsageDimension {
  return req.query.by === 'category' ? 'category' : 'model';
}

/** `?board=week|month|quarter`; absent, the organisation's default window (the verb decides). */
function boardWindowOf(req: Request): LeaderboardWindow | undefined {
  return leaderboardWindows.find((window) => window === req.query.board);
}

async function loadOrg(ctx: Ctx, viewer: Viewer, req: Request): Promise<OrgPageData> {
  const orgId = viewer.organisation.id;
  const days = windowOf(req);
  const by = dimensionOf(req);
  const [history, leaderboard, budgets] = await Promise.all([
    getUsageHistory(ctx, { orgId, scope: { kind: 'organisation' }, days, by }),
    getLeaderboard(ctx, { orgId, askerId: viewer.member.id, window: boardWindowOf(req) }),
    listBudgets(ctx.db.orm, { orgId, since: periodStart('month', viewer.organisation.timeZone, ctx.clock.now()) }),
  ]);
  if (!history.ok) throw new Error('the organisation page has no organisation');
  return { history: history.value, days, by, leaderboard, budgets, timeZone: viewer.organisation.timeZone };
}

/** Mounts the organisation page (relative to /dashboard); the other admin pages have their own files. */
export function mountOrg(router: Router, dashboard: Dashboard): void {
  router.get('/org', async (req, res) => {
    const viewer = viewerOf(res);
    sendPage(res, 200, orgPage({ viewer: frameOf(viewer), data: await loadOrg(dashboard.deps.ctx, viewer, req) }));
  });
}

/** In front of every /org page: admins only (roles.models isActiveAdmin, read afresh from the session). */
export const onlyAdmins = requireRole(
  (viewer) => viewer.isAdmin,
  'The organisation pages are for Allot admins. Your own tokens are on your Me page.',
);
