import { randomUUID } from 'node:crypto';
import { getBalances } from '../ledger/ledger.usecases';
import type { Ctx } from '../lib/context';
import { lastValidDay } from '../lib/expiry.models';
import type { Logger } from '../lib/logger';
import type { ChatMessage } from '../notify/message.models';
import type { Notifier, SendOutcome } from '../notify/notifier';
import * as repo from './expiry-notices.repository';
import type { ExpiryNoticeKind } from './expiry-notices.tables';
import {
  daysLeft,
  dueReminder,
  expiryReminderMessage,
  reminderHorizonMs,
  tokensExpiredMessage,
} from './expiry-reminders.models';

// The expiry reminders (7 days and the day before, per lot, in the member's zone) and the line after
// tokens expired, sent by a sweep every few minutes on every replica. Each lot's notice of each kind is
// a stored key (expiry_notices): a replica claims it, sends, then finishes it, so a notice goes out once
// however many replicas sweep and however often one restarts; one whose sender died mid-send is taken
// over when its lease runs out. A member's lots expiring on the same day go out as one message.

/** How long a claimed notice may take before another replica may take it over. */
export const noticeLeaseMs = 10 * 60_000;
/** How far back the sweep looks for lots the ledger expired (by the database's clock). */
export const expiredLookbackDays = 3;

export interface ExpiryReminderDeps {
  ctx: Ctx;
  notifier: Notifier;
  logger: Logger;
  /** Who claims notices (a replica); default: one per process. */
  replicaId?: string;
}

export interface ExpiryReminderReport {
  /** Messages sent (or attempted) for reminders and for expired tokens. */
  reminders: number;
  expired: number;
}

const processReplicaId = `${process.pid}-${randomUUID().slice(0, 8)}`;

/** One message to one member about lots of one account expiring (or expired) on one local day. */
interface Group {
  orgId: bigint;
  memberId: bigint;
  account: 'wallet' | 'budget';
  kind: ExpiryNoticeKind;
  day: string;
  lots: repo.LotNotice[];
}

function groupsOf(lots: repo.LotNotice[], kindOf: (lot: repo.LotNotice) => ExpiryNoticeKind | undefined): Group[] {
  const groups = new Map<string, Group>();
  for (const lot of lots) {
    const kind = kindOf(lot);
    if (!kind) continue;
    const day = lastValidDay(lot.expiresAt, lot.timeZone);
    const key = `${lot.orgId}:${lot.memberId}:${lot.accountKind}:${kind}:${day}`;
    const group = groups.get(key) ?? {
      orgId: lot.orgId,
      memberId: lot.memberId,
      account: lot.accountKind,
      kind,
      day,
      lots: [],
    };
    group.lots.push(lot);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/**
 * One sweep: the reminders due now, then the announcements of tokens expired lately. Never throws for
 * one member's failure (logged; their notice is finished with the reason, not retried forever).
 */
export async function sendExpiryReminders(deps: ExpiryReminderDeps): Promise<ExpiryReminderReport> {
  const now = deps.ctx.clock.now();
  const soon = await repo.lotsExpiringSoon(deps.ctx.db.orm, {
    after: now,
    until: new Date(now.getTime() + reminderHorizonMs),
    limit: repo.noticeLotsPerSweepMax,
  });
  const reminders = groupsOf(soon, (lot) => dueReminder({ ...lot, now }));
  const expired = groupsOf(
    await repo.lotsExpiredLately(deps.ctx.db.orm, {
      withinDays: expiredLookbackDays,
      limit: repo.noticeLotsPerSweepMax,
    }),
    () => 'expired',
  );
  const report: ExpiryReminderReport = { reminders: 0, expired: 0 };
  for (const group of [...reminders, ...expired]) {
    try {
      if (await notify(deps, group, now)) report[group.kind === 'expired' ? 'expired' : 'reminders']++;
    } catch (error) {
      deps.logger.error({ err: error, orgId: group.orgId, memberId: group.memberId }, 'expiry notice failed');
    }
  }
  return report;
}

/** Claims the group's lots, tells the member about the claimed ones, and finishes them; false if none was claimed. */
async function notify(deps: ExpiryReminderDeps, group: Group, now: Date): Promise<boolean> {
  const { orm } = deps.ctx.db;
  const claimedBy = deps.replicaId ?? processReplicaId;
  const claimed = new Set(
    await repo.claimNotices(orm, {
      orgId: group.orgId,
      memberId: group.memberId,
      lotIds: group.lots.map((lot) => lot.lotId),
      kind: group.kind,
      claimedBy,
      now,
      leaseMs: noticeLeaseMs,
    }),
  );
  const lots = group.lots.filter((lot) => claimed.has(lot.lotId));
  if (lots.length === 0) return false;
  const tokens = lots.reduce((sum, lot) => sum + lot.tokens, 0n);
  let outcome: SendOutcome;
  try {
    outcome = await deps.notifier.notifyMember({
      orgId: group.orgId,
      memberId: group.memberId,
      message: await messageOf(deps, group, tokens, now),
    });
  } catch (error) {
    outcome = { ok: false, reason: 'failed', detail: String(error) };
  }
  if (!outcome.ok) {
    deps.logger.warn({ memberId: group.memberId, kind: group.kind, outcome }, 'expiry notice not delivered');
  }
  await repo.finishNotices(orm, {
    orgId: group.orgId,
    lotIds: lots.map((lot) => lot.lotId),
    kind: group.kind,
    claimedBy,
    now: deps.ctx.clock.now(),
    outcome: outcome.ok ? 'sent' : `${outcome.reason}${outcome.detail ? `: ${outcome.detail}` : ''}`,
  });
  return true;
}

async function messageOf(deps: ExpiryReminderDeps, group: Group, tokens: bigint, now: Date): Promise<ChatMessage> {
  if (group.kind !== 'expired') {
    const first = group.lots[0]!;
    return expiryReminderMessage({
      tokens,
      day: group.day,
      days: daysLeft({ expiresAt: first.expiresAt, now, timeZone: first.timeZone }),
      account: group.account,
    });
  }
  const balances = await getBalances(deps.ctx.db.orm, group.orgId, group.memberId);
  const balance = balances ? (group.account === 'wallet' ? balances.wallet : balances.budget) : undefined;
  return tokensExpiredMessage({ tokens, day: group.day, account: group.account, balance });
}
