import * as lotsRepo from '../ledger/lots.repository';
import type { Ctx } from '../lib/context';
import type { Logger } from '../lib/logger';
import { localDate, periodStart, previousPeriodStart } from '../lib/periods.models';
import { findOrganisationById, listMembersByRole } from '../members/members.repository';
import type { ChatMessage } from '../notify/message.models';
import type { MessageLocation, Notifier } from '../notify/notifier';
import { getLeaderboard } from '../usage/leaderboard.usecases';
import { isNearLimit, nearLimitPercentLeft } from '../usage/limits.models';
import {
  type DigestData,
  type DigestLeaderRow,
  type DigestPostFailure,
  digestFailureNoticePlain,
  digestMessage,
  limitWatchMessage,
  reportsExpiringDays,
} from './digest.models';
import type { DigestSchedule } from './digest.repository';
import * as repo from './digest.repository';
import { idempotencyKeyOfRun, occurrenceAt } from './occurrences.models';

/** Attempts to post one digest before the destination is reported as failing. */
export const digestPostAttemptsMax = 3;
/** Backoff between attempts (multiplied by the attempt number). */
export const digestRetryDelayMs = 2_000;

/** Most admins told that a digest could not be posted. */
export const digestFailureAdminsMax = 20;

export interface DigestDeps {
  ctx: Ctx;
  notifier: Notifier;
  logger: Logger;
  sleep?: (ms: number) => Promise<void>;
  /**
   * Words for the admins when a digest could not be posted. Chat gives them (they name the platform's
   * channel and the command that moves the digest); without it, `digestFailureNoticePlain`.
   */
  failureNotice?: (failure: DigestPostFailure) => ChatMessage;
}

/** The week's leaderboard through the same verb as /leaderboard, with its privacy settings, as of `weekStart`. */
async function leaderboardOf(ctx: Ctx, orgId: bigint, weekStart: Date) {
  const asOfWeek: Ctx = { db: ctx.db, clock: { now: () => weekStart } };
  const board = await getLeaderboard(asOfWeek, { orgId, askerId: null, window: 'week' });
  if (!board.ok) return { rows: 'disabled' as const, hideMoney: true };
  const rows: DigestLeaderRow[] = board.value.entries.slice(0, repo.digestListMax).map((entry) => ({
    rank: entry.rank,
    memberId: entry.memberId,
    name: entry.displayName,
    tokens: entry.tokens,
    value: entry.value,
    costMicros: entry.costMicros ?? 0n,
  }));
  return { rows, hideMoney: board.value.hideMoney };
}

/**
 * Everything the digest posted at `at` reports: the last complete week (Monday to Monday in the
 * organisation's zone) before `at`, against the week before it.
 */
export async function collectDigest(ctx: Ctx, input: { orgId: bigint; at: Date }): Promise<DigestData> {
  const organisation = await findOrganisationById(ctx.db.orm, input.orgId);
  if (!organisation) throw new Error(`organisation ${input.orgId} not found`);
  const zone = organisation.timeZone;
  const to = periodStart('week', zone, input.at);
  const from = previousPeriodStart('week', zone, input.at);
  const before = previousPeriodStart('week', zone, from);
  const weekDay = localDate(from, zone);
  const previousDay = localDate(before, zone);
  const [board, totals, previousTotals, grants, requests, movers, expiredTokens] = await Promise.all([
    leaderboardOf(ctx, input.orgId, from),
    repo.weekTotals(ctx.db.orm, input.orgId, weekDay),
    repo.weekTotals(ctx.db.orm, input.orgId, previousDay),
    repo.grantStats(ctx.db.orm, input.orgId, from, to),
    repo.requestStats(ctx.db.orm, input.orgId, from, to),
    repo.biggestMovers(ctx.db.orm, input.orgId, weekDay, previousDay),
    repo.expiredTokens(ctx.db.orm, input.orgId, from, to),
  ]);
  return {
    organisationName: organisation.name,
    from,
    to,
    timeZone: zone,
    leaderboard: board.rows,
    hideMoney: board.hideMoney,
    totals,
    previousTotals,
    grants,
    requests,
    movers: board.rows === 'disabled' ? [] : movers,
    expiredTokens,
  };
}

export async function buildDigestMessage(ctx: Ctx, input: { orgId: bigint; at: Date }): Promise<ChatMessage> {
  return digestMessage(await collectDigest(ctx, input));
}

export function digestJobName(schedule: Pick<DigestSchedule, 'orgId' | 'id'>): string {
  return `digest:${schedule.orgId}:${schedule.id}`;
}

export type DeliveryOutcome = 'sent' | 'failed' | 'already_delivered' | 'schedule_off';

/**
 * Posts one digest for one schedule and slot, once: retried on failure, then reported to the admins
 * (never silently dropped). Managers also get a private note about their reports near their limit.
 * `idempotencyKey` names the scheduled occurrence (the scheduler passes its claim key); without it, the
 * occurrence is the local time the schedule's zone shows at `slot`.
 */
export async function deliverDigest(
  deps: DigestDeps,
  input: { orgId: bigint; scheduleId: bigint; slot: Date; idempotencyKey?: string },
): Promise<DeliveryOutcome> {
  const { ctx } = deps;
  const schedule = await repo.findSchedule(ctx.db.orm, input.orgId, input.scheduleId);
  if (!schedule?.enabled) return 'schedule_off';
  const idempotencyKey =
    input.idempotencyKey ?? idempotencyKeyOfRun(digestJobName(schedule), occurrenceAt(schedule.timeZone, input.slot));
  if (await repo.findDelivery(ctx.db.orm, input.orgId, idempotencyKey)) return 'already_delivered';
  const digest = await buildDigestMessage(ctx, { orgId: input.orgId, at: input.slot });
  const destination: MessageLocation = { platform: schedule.platform, ref: schedule.destination };
  const sleep = deps.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  let attempts = 0;
  let detail = '';
  for (; attempts < digestPostAttemptsMax; ) {
    attempts++;
    const sent = await deps.notifier.postToChannel({ orgId: input.orgId, destination, message: digest });
    if (sent.ok) {
      await repo.insertDelivery(ctx.db.orm, {
        orgId: input.orgId,
        idempotencyKey,
        scheduleId: schedule.id,
        status: 'sent',
        attempts,
        location: sent.location.ref,
        at: ctx.clock.now(),
      });
      await repo.recordScheduleOutcome(ctx.db.orm, { orgId: input.orgId, scheduleId: schedule.id, failure: null });
      await notifyManagers(deps, input.orgId, input.slot);
      return 'sent';
    }
    detail = `${sent.reason}${sent.detail ? `: ${sent.detail}` : ''}`;
    // An unreachable destination (bot removed, channel archived) will not heal by retrying now.
    if (sent.reason === 'unreachable') break;
    if (attempts < digestPostAttemptsMax) await sleep(digestRetryDelayMs * attempts);
  }
  await repo.insertDelivery(ctx.db.orm, {
    orgId: input.orgId,
    idempotencyKey,
    scheduleId: schedule.id,
    status: 'failed',
    attempts,
    detail,
    at: ctx.clock.now(),
  });
  await repo.recordScheduleOutcome(ctx.db.orm, { orgId: input.orgId, scheduleId: schedule.id, failure: detail });
  await reportFailure(deps, { schedule, attempts, detail });
  deps.logger.warn({ orgId: input.orgId, scheduleId: schedule.id, detail }, 'digest could not be posted');
  return 'failed';
}

async function reportFailure(deps: DigestDeps, failure: DigestPostFailure): Promise<void> {
  const note = (deps.failureNotice ?? digestFailureNoticePlain)(failure);
  const admins = await listMembersByRole(deps.ctx.db.orm, failure.schedule.orgId, 'admin');
  for (const admin of admins.slice(0, digestFailureAdminsMax)) {
    await deps.notifier.notifyMember({
      orgId: failure.schedule.orgId,
      memberId: admin.id,
      message: note,
      preferPlatform: failure.schedule.platform,
    });
  }
}

async function notifyManagers(deps: DigestDeps, orgId: bigint, at: Date): Promise<void> {
  const organisation = await findOrganisationById(deps.ctx.db.orm, orgId);
  if (!organisation) return;
  const since = periodStart('month', organisation.timeZone, at);
  const watched = await repo.membersNearLimit(deps.ctx.db.orm, orgId, since, nearLimitPercentLeft);
  for (const entry of watched) {
    // The query states isNearLimit in SQL; a row it returns that the rule refuses is a bug between the two.
    const near = isNearLimit({ balance: entry.balance, received: entry.received, percentLeft: nearLimitPercentLeft });
    if (entry.balance >= 0n && !near) throw new Error(`membersNearLimit returned member ${entry.memberId}`);
  }
  const expiring = await lotsRepo.expiringByReport(deps.ctx.db.orm, {
    orgId,
    after: at,
    until: new Date(at.getTime() + reportsExpiringDays * 86_400_000),
    limit: 500,
  });
  const byManager = new Map<bigint, { near: typeof watched; expiring: typeof expiring }>();
  const of = (managerId: bigint) => byManager.get(managerId) ?? { near: [], expiring: [] };
  for (const entry of watched) {
    if (entry.managerId === null) continue;
    byManager.set(entry.managerId, { ...of(entry.managerId), near: [...of(entry.managerId).near, entry] });
  }
  for (const entry of expiring) {
    byManager.set(entry.managerId, { ...of(entry.managerId), expiring: [...of(entry.managerId).expiring, entry] });
  }
  for (const [managerId, reports] of [...byManager].slice(0, 200)) {
    const note = limitWatchMessage(reports.near, reports.expiring);
    const sent = await deps.notifier.notifyMember({ orgId, memberId: managerId, message: note });
    if (!sent.ok) deps.logger.info({ orgId, managerId, reason: sent.reason }, 'manager limit note not delivered');
  }
}
