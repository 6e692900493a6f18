import type { Actor, Ctx, Platform } from '../lib/context';
import { currentPeriod } from '../lib/periods.models';
import { fail, ok, type Result } from '../lib/result';
import * as membersRepo from '../members/members.repository';
import { isAdminActor } from '../members/members.usecases';
import type { LeaderboardRow, ModelUsageRow } from './leaderboard.repository';
import * as leaderboardRepo from './leaderboard.repository';
import { valuePerMoney } from './pricing.models';
import { leaderboardTopNMax } from './usage.models';
import { type LeaderboardWindow, leaderboardWindows } from './usage.tables';

// The value-weighted leaderboard, its settings and opt-outs, and one member's usage by model (/balance).

export interface LeaderboardEntry {
  memberId: bigint;
  displayName: string;
  rank: number;
  events: bigint;
  tokens: bigint;
  value: bigint;
  /** Null when the organisation hides money. */
  costMicros: bigint | null;
  /** Value-weighted tokens per unit of money; null when hidden or nothing was spent. */
  valuePerMoney: bigint | null;
}

export interface Leaderboard {
  window: LeaderboardWindow;
  /** Organisation-local dates [start, end). */
  period: { start: string; end: string };
  timeZone: string;
  hideMoney: boolean;
  topN: number;
  entries: LeaderboardEntry[];
  /** How many members are ranked (opted-out members are not). */
  ranked: number;
  /** The asker's own standing: ranked, not ranked yet (no usage), or opted out. */
  asker:
    | { state: 'ranked'; entry: LeaderboardEntry }
    | { state: 'no_usage' }
    | { state: 'opted_out' }
    | { state: 'not_a_member' };
}

export type LeaderboardFailure = 'leaderboard_disabled' | 'window_invalid' | 'organisation_not_found';

export const defaultLeaderboardSettings: LeaderboardSettingsView = {
  enabled: true,
  hideMoney: false,
  topN: 10,
  defaultWindow: 'week',
};

/**
 * The top members by value-weighted tokens over the current week, month or quarter (organisation
 * time zone, injected clock), read from the period totals: one row per member, so it stays fast
 * however many events there are.
 */
export async function getLeaderboard(
  ctx: Ctx,
  input: { orgId: bigint; askerId: bigint | null; window?: string },
): Promise<Result<Leaderboard, LeaderboardFailure>> {
  const [organisation, saved] = await Promise.all([
    membersRepo.findOrganisationById(ctx.db.orm, input.orgId),
    leaderboardRepo.findLeaderboardSettings(ctx.db.orm, input.orgId),
  ]);
  if (!organisation) return fail('organisation_not_found');
  const settings = saved ?? defaultLeaderboardSettings;
  if (!settings.enabled) return fail('leaderboard_disabled');
  const requested = input.window?.trim().toLowerCase() || settings.defaultWindow;
  if (!(leaderboardWindows as readonly string[]).includes(requested)) {
    return fail('window_invalid', { windows: leaderboardWindows });
  }
  const window = requested as LeaderboardWindow;
  const period = currentPeriod(window, ctx.clock.now(), organisation.timeZone);
  const { rows, ranked } = await leaderboardRepo.rankPeriod(ctx.db.orm, {
    orgId: input.orgId,
    period: window,
    periodStart: period.start,
    topN: settings.topN,
    askerId: input.askerId,
  });
  const toEntry = (row: LeaderboardRow): LeaderboardEntry => ({
    memberId: row.memberId,
    displayName: row.displayName,
    rank: row.rank,
    events: row.events,
    tokens: row.tokens,
    value: row.value,
    costMicros: settings.hideMoney ? null : row.costMicros,
    valuePerMoney: settings.hideMoney ? null : valuePerMoney(row.value, row.costMicros),
  });
  const entries = rows.filter((row) => row.position <= settings.topN).map(toEntry);
  let asker: Leaderboard['asker'] = { state: 'not_a_member' };
  if (input.askerId !== null) {
    const own = rows.find((row) => row.memberId === input.askerId);
    if (own) asker = { state: 'ranked', entry: toEntry(own) };
    else {
      const member = await membersRepo.findMember(ctx.db.orm, input.orgId, input.askerId);
      asker = !member
        ? { state: 'not_a_member' }
        : member.leaderboardOptOut
          ? { state: 'opted_out' }
          : { state: 'no_usage' };
    }
  }
  return ok({
    window,
    period,
    timeZone: organisation.timeZone,
    hideMoney: settings.hideMoney,
    topN: settings.topN,
    entries,
    ranked,
    asker,
  });
}

export type LeaderboardOption =
  | { kind: 'off' }
  | { kind: 'on' }
  | { kind: 'hide-money' }
  | { kind: 'show-money' }
  | { kind: 'top'; n: number }
  | { kind: 'window'; window: LeaderboardWindow };

export interface LeaderboardSettingsView {
  enabled: boolean;
  hideMoney: boolean;
  topN: number;
  defaultWindow: LeaderboardWindow;
}

/** Admin settings: `/tokens leaderboard off|on|hide-money|show-money|top <n>`. */
export async function setLeaderboardOption(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; option: LeaderboardOption },
): Promise<Result<LeaderboardSettingsView, 'not_an_admin' | 'top_invalid'>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  const option = input.option;
  if (option.kind === 'top' && !(Number.isInteger(option.n) && option.n >= 1 && option.n <= leaderboardTopNMax)) {
    return fail('top_invalid', { max: leaderboardTopNMax });
  }
  const changes =
    option.kind === 'off'
      ? { enabled: false }
      : option.kind === 'on'
        ? { enabled: true }
        : option.kind === 'hide-money'
          ? { hideMoney: true }
          : option.kind === 'show-money'
            ? { hideMoney: false }
            : option.kind === 'top'
              ? { topN: option.n }
              : { defaultWindow: option.window };
  const saved = await ctx.db.orm.transaction(async (tx) => {
    const row = await leaderboardRepo.upsertLeaderboardSettings(tx, {
      orgId: input.orgId,
      at: ctx.clock.now(),
      ...changes,
    });
    await membersRepo.insertActorAudit(tx, {
      orgId: input.orgId,
      actor: input.actor,
      action: 'leaderboard.settings',
      details: changes,
      at: ctx.clock.now(),
    });
    return row;
  });
  return ok({
    enabled: saved.enabled,
    hideMoney: saved.hideMoney,
    topN: saved.topN,
    defaultWindow: saved.defaultWindow,
  });
}

/** `/tokens leaderboard opt-out|opt-in`: a member leaves or rejoins the leaderboard. */
export async function setLeaderboardOptOut(
  ctx: Ctx,
  input: { orgId: bigint; memberId: bigint; optOut: boolean; platform: Platform },
): Promise<Result<{ optOut: boolean }, 'member_not_found'>> {
  return ctx.db.orm.transaction(async (tx) => {
    const updated = await membersRepo.updateMember(tx, input.orgId, input.memberId, {
      leaderboardOptOut: input.optOut,
    });
    if (!updated) return fail('member_not_found');
    await membersRepo.insertAudit(tx, {
      orgId: input.orgId,
      actorMemberId: input.memberId,
      platform: input.platform,
      action: input.optOut ? 'leaderboard.opt_out' : 'leaderboard.opt_in',
      at: ctx.clock.now(),
    });
    return ok({ optOut: updated.leaderboardOptOut });
  });
}

// ---------------------------------------------------------------------------------------------
// usage by model, for /balance

export interface UsageByModel {
  window: LeaderboardWindow;
  period: { start: string; end: string };
  models: ModelUsageRow[];
  total: { events: bigint; tokens: bigint; value: bigint; costMicros: bigint };
}

/** A member's usage this period (the organisation-local month by default) per model, with money. */
export async function getUsageByModel(
  ctx: Ctx,
  input: { orgId: bigint; memberId: bigint; window?: LeaderboardWindow },
): Promise<Result<UsageByModel, 'organisation_not_found'>> {
  const organisation = await membersRepo.findOrganisationById(ctx.db.orm, input.orgId);
  if (!organisation) return fail('organisation_not_found');
  const window = input.window ?? 'month';
  const period = currentPeriod(window, ctx.clock.now(), organisation.timeZone);
  const models = await leaderboardRepo.usageByModel(ctx.db.orm, {
    orgId: input.orgId,
    memberId: input.memberId,
    ...period,
  });
  const total = models.reduce(
    (sum, row) => ({
      events: sum.events + row.events,
      tokens: sum.tokens + row.tokens,
      value: sum.value + row.value,
      costMicros: sum.costMicros + row.costMicros,
    }),
    { events: 0n, tokens: 0n, value: 0n, costMicros: 0n },
  );
  return ok({ window, period, models, total });
}
