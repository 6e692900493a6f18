import type { Ctx } from '../lib/context';
import type { Logger } from '../lib/logger';
import { periodStart } from '../lib/periods.models';
import * as membersRepo from '../members/members.repository';
import type { Notifier } from '../notify/notifier';
import { type AlertThreshold, alertPeriod, thresholdsReached } from './limits.models';
import { lowBalanceReply, overageManagerReply } from './usage.replies';
import * as usageRepo from './usage.repository';
import type { WalletDebit } from './usage.usecases';

/** Most wallets looked at after one batch (a batch has at most 1000 events, so 1000 members). */
const alertWalletsMax = 1_000;

export interface AlertSent {
  memberId: bigint;
  threshold: AlertThreshold;
  toManagerId: bigint | null;
}

/**
 * Low-balance alerts after a batch has committed: for each debited wallet, the thresholds it is now
 * at or past (20 % and 5 % left of what it received this month, and overage, by default) are
 * recorded once per member, threshold and organisation-local month; a member newly past any gets one
 * DM naming the most severe, and on overage their manager gets one too. Never throws: an alert that
 * cannot be sent is logged, and ingestion has already answered.
 */
export async function sendLowBalanceAlerts(
  ctx: Ctx,
  deps: { notifier: Notifier; logger?: Logger },
  input: { orgId: bigint; debits: WalletDebit[]; percents: readonly number[] },
): Promise<AlertSent[]> {
  const sent: AlertSent[] = [];
  try {
    const debits = input.debits.filter((debit) => debit.debited > 0n).slice(0, alertWalletsMax);
    if (debits.length === 0) return sent;
    const organisation = await membersRepo.findOrganisationById(ctx.db.orm, input.orgId);
    if (!organisation) return sent;
    const now = ctx.clock.now();
    const period = alertPeriod(now, organisation.timeZone);
    const since = periodStart('month', organisation.timeZone, now);
    const walletIds = debits.map((debit) => debit.walletId);
    const [received, held] = await Promise.all([
      usageRepo.receivedSince(ctx.db.orm, input.orgId, walletIds, since),
      usageRepo.heldOn(ctx.db.orm, input.orgId, walletIds),
    ]);
    // Every threshold each wallet is now at or past, recorded in one statement; fresh ones get a DM.
    const checked = debits.map((debit) => {
      const receivedThisPeriod = received.get(debit.walletId) ?? 0n;
      // What the member can still spend: tokens held by calls in flight are as good as spent.
      const available = debit.after - (held.get(debit.walletId) ?? 0n);
      const reached = thresholdsReached({ after: available, receivedThisPeriod, percents: input.percents });
      return { debit, receivedThisPeriod, available, reached };
    });
    const recorded = await usageRepo.recordAlerts(
      ctx.db.orm,
      checked.flatMap(({ debit, reached }) =>
        reached.map((threshold) => ({
          orgId: input.orgId,
          memberId: debit.memberId,
          period,
          threshold,
          balance: debit.after,
          at: now,
        })),
      ),
    );
    for (const { debit, receivedThisPeriod, available, reached } of checked) {
      try {
        const fresh = reached.filter((threshold) => recorded.has(usageRepo.alertKey(debit.memberId, threshold)));
        const worst = fresh[0];
        if (!worst) continue;
        const outcome = await deps.notifier.notifyMember({
          orgId: input.orgId,
          memberId: debit.memberId,
          message: lowBalanceReply({ threshold: worst, balance: available, received: receivedThisPeriod }),
        });
        if (!outcome.ok) deps.logger?.warn({ memberId: debit.memberId, outcome }, 'low-balance alert not delivered');
        let toManagerId: bigint | null = null;
        if (fresh.includes('overage')) {
          const member = await membersRepo.findMember(ctx.db.orm, input.orgId, debit.memberId);
          if (member?.managerId) {
            toManagerId = member.managerId;
            const managerOutcome = await deps.notifier.notifyMember({
              orgId: input.orgId,
              memberId: member.managerId,
              message: overageManagerReply({
                memberId: member.id,
                memberName: member.displayName,
                balance: debit.after,
              }),
            });
            if (!managerOutcome.ok) {
              deps.logger?.warn(
                { managerId: member.managerId, outcome: managerOutcome },
                'overage alert not delivered',
              );
            }
          }
        }
        sent.push({ memberId: debit.memberId, threshold: worst, toManagerId });
      } catch (error) {
        // One member's failed alert (a platform error, a thrown sender) must not stop the others'.
        deps.logger?.error({ err: error, orgId: input.orgId, memberId: debit.memberId }, 'low-balance alert failed');
      }
    }
  } catch (error) {
    deps.logger?.error({ err: error, orgId: input.orgId }, 'low-balance alerts failed');
  }
  return sent;
}

/** The process's low-balance alerts after debits (createAlertRunner): one per process, shared by every route that debits. */
export interface AlertRunner {
  alertAfter(orgId: bigint, debits: WalletDebit[]): void;
  drain(): Promise<void>;
  /** Runs made and the debits handed to the runner, since it was made. */
  stats(): { runs: number; debits: number };
}

/** Least time between the starts of two alert runs of one organisation while debits keep coming (ms). */
export const alertRunGapMs = 200;

/**
 * Low-balance alerts in the background, after an answer was sent (/v1/usage, a reservation's settle),
 * so alerts never slow or fail what debited. Debits wait per organisation and wallet; one run per
 * organisation at a time takes everything waiting for it, keeping each wallet's latest debit (an alert
 * reads the balance after the debit, so a wallet debited a hundred times while a run was under way is
 * checked once, against its latest balance). A debit after a quiet spell is checked at once; while
 * debits keep coming, runs start at most every `gapMs` (default alertRunGapMs), so a run's few queries
 * are paid per batch of debits, not per debit (a gateway settling 500 calls a second). Nothing is
 * dropped however fast debits arrive, and what waits is bounded by the organisation's wallets. `drain`
 * waits until nothing is waiting or running (call it before the database closes).
 */
export function createAlertRunner(deps: {
  ctx: Ctx;
  notifier: Notifier;
  logger: Logger;
  percents: readonly number[];
  gapMs?: number;
}): AlertRunner {
  const gapMs = deps.gapMs ?? alertRunGapMs;
  const counts = { runs: 0, debits: 0 };
  const waiting = new Map<bigint, Map<bigint, WalletDebit>>();
  const running = new Map<bigint, Promise<void>>();
  const lastStarts = new Map<bigint, number>();
  const runOrganisation = async (orgId: bigint) => {
    while (waiting.has(orgId)) {
      // A run within gapMs of the last one waits out the rest, gathering what arrives meanwhile.
      const rest = (lastStarts.get(orgId) ?? Number.NEGATIVE_INFINITY) + gapMs - performance.now();
      if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
      const debits = waiting.get(orgId)!;
      waiting.delete(orgId);
      lastStarts.set(orgId, performance.now());
      counts.runs++;
      await sendLowBalanceAlerts(
        deps.ctx,
        { notifier: deps.notifier, logger: deps.logger },
        { orgId, debits: [...debits.values()], percents: deps.percents },
      );
    }
  };
  return {
    alertAfter(orgId, debits) {
      if (debits.length === 0) return;
      counts.debits += debits.length;
      const byWallet = waiting.get(orgId) ?? new Map<bigint, WalletDebit>();
      waiting.set(orgId, byWallet);
      for (const debit of debits) byWallet.set(debit.walletId, debit);
      if (running.has(orgId)) return;
      running.set(
        orgId,
        runOrganisation(orgId).finally(() => running.delete(orgId)),
      );
    },
    async drain() {
      while (running.size > 0) await Promise.allSettled([...running.values()]);
    },
    stats: () => ({ ...counts }),
  };
}
