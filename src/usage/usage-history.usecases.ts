import type { Ctx } from '../lib/context';
import { localDate } from '../lib/periods.models';
import { fail, ok, type Result } from '../lib/result';
import * as membersRepo from '../members/members.repository';
import {
  dayAfter,
  daysEndingOn,
  type HistoryWindowDays,
  shapeHistory,
  type UsageHistory,
} from './usage-history.models';
import type { UsageDimension } from './usage-history.repository';
import * as historyRepo from './usage-history.repository';

export type UsageScope = { kind: 'organisation' } | { kind: 'members'; memberIds: bigint[] };

/**
 * Usage per local day over the last `days` days (today included, in the organisation's time zone) and
 * per model or category: of the whole organisation, or of some members together. Callers decide who
 * may see what (the dashboard's pages: a member their own, a manager their reports, an admin all).
 */
export async function getUsageHistory(
  ctx: Ctx,
  input: { orgId: bigint; scope: UsageScope; days: HistoryWindowDays; by: UsageDimension },
): Promise<Result<UsageHistory, 'organisation_not_found'>> {
  const organisation = await membersRepo.findOrganisationById(ctx.db.orm, input.orgId);
  if (!organisation) return fail('organisation_not_found');
  const days = daysEndingOn(localDate(ctx.clock.now(), organisation.timeZone), input.days);
  const window = { orgId: input.orgId, start: days[0]!, end: dayAfter(days[days.length - 1]!), by: input.by };
  const rows =
    input.scope.kind === 'organisation'
      ? await historyRepo.organisationDailyUsage(ctx.db.orm, window)
      : await historyRepo.membersDailyUsage(ctx.db.orm, { ...window, memberIds: input.scope.memberIds });
  return ok(shapeHistory(rows, days, input.by));
}
