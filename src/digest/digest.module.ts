import { listOrganisationsWithLiveRules } from '../allowances/allowances.repository';
import { issueDueAllowances } from '../allowances/allowances.usecases';
import type { AppDeps, AppModule } from '../app/module';
import type { Config } from '../config/config';
import * as repo from './digest.repository';
import { type DigestDeps, deliverDigest, digestJobName } from './digest.usecases';
import { sendExpiryReminders } from './expiry-reminders.usecases';
import { type Job, Scheduler } from './scheduler';

/** How often a replica re-reads digest schedules (changed on another replica, or by a command). */
export const scheduleReloadIntervalMs = 60_000;
/** Allowances are checked every 15 minutes: members' periods start at their own local midnight. */
export const allowanceSweepCron = '*/15 * * * *';
/** Most organisations one allowance sweep walks through. */
export const sweepOrganisationsMax = 10_000;
/** Expiry reminders are looked for every 5 minutes (each is due from 09:00 in its member's zone). */
export const expiryReminderCron = '*/5 * * * *';

/** Builds the expiry reminder sweep: reminders due now and tokens expired lately, each lot's notice once. */
export function expiryReminderJob(deps: Pick<AppDeps, 'ctx' | 'logger' | 'notifier'>, replicaId: string): Job {
  return {
    name: 'expiry-reminders',
    expression: expiryReminderCron,
    timeZone: 'UTC',
    catchUpGraceMs: 5 * 60_000,
    run: async () => {
      const report = await sendExpiryReminders({ ...deps, replicaId });
      if (report.reminders + report.expired > 0) deps.logger.info(report, 'expiry notices sent');
    },
  };
}

/** Builds the allowance sweep: every organisation with allowance rules, each member's period once. */
export function allowanceSweepJob(deps: Pick<AppDeps, 'ctx' | 'logger'>): Job {
  return {
    name: 'allowances',
    expression: allowanceSweepCron,
    timeZone: 'UTC',
    catchUpGraceMs: 15 * 60_000,
    run: async () => {
      const orgIds = await listOrganisationsWithLiveRules(deps.ctx.db.orm, sweepOrganisationsMax);
      for (const orgId of orgIds) {
        const report = await issueDueAllowances(deps.ctx, { orgId });
        if (report.issued > 0)
          deps.logger.info(
            { orgId: orgId.toString(), ...report, expiredTokens: String(report.expiredTokens) },
            'allowances issued',
          );
      }
    },
  };
}

/** The job that posts one schedule's digest; `config` gives the catch-up grace. */
export function digestJob(
  deps: DigestDeps & { config: Pick<Config, 'DIGEST_CATCH_UP_HOURS'> },
  schedule: repo.DigestSchedule,
): Job {
  return {
    name: digestJobName(schedule),
    expression: schedule.cron,
    timeZone: schedule.timeZone,
    catchUpGraceMs: deps.config.DIGEST_CATCH_UP_HOURS * 3_600_000,
    notBefore: schedule.updatedAt,
    run: async (slot) => {
      await deliverDigest(deps, {
        orgId: schedule.orgId,
        scheduleId: schedule.id,
        slot: slot.runAt,
        idempotencyKey: slot.idempotencyKey,
      });
    },
  };
}

/**
 * Schedules: weekly digests, recurring allowances and expiry reminders. Every replica keeps the timers;
 * the database decides which replica runs each slot, so a slot runs once however many replicas fire.
 */
export function createDigestModule(deps: AppDeps & Pick<DigestDeps, 'failureNotice'>): AppModule | null {
  if (!deps.config.SCHEDULER_ENABLED) return null;
  const scheduler = new Scheduler(deps.ctx, deps.logger);
  const known = new Map<string, string>();
  let timer: NodeJS.Timeout | undefined;
  let reloading: Promise<void> = Promise.resolve();

  const reload = async (catchUp: boolean) => {
    const schedules = await repo.listEnabledSchedules(deps.ctx.db.orm);
    const wanted = new Set<string>();
    for (const schedule of schedules) {
      const job = digestJob(deps, schedule);
      wanted.add(job.name);
      const signature = `${schedule.cron}|${schedule.timeZone}`;
      if (known.get(job.name) !== signature) {
        scheduler.schedule(job);
        known.set(job.name, signature);
      }
      if (catchUp) await scheduler.catchUp(job);
    }
    for (const name of [...known.keys()]) {
      if (!wanted.has(name)) {
        scheduler.unschedule(name);
        known.delete(name);
      }
    }
  };

  return {
    name: 'schedules',
    async start() {
      const sweep = allowanceSweepJob(deps);
      const reminders = expiryReminderJob(deps, scheduler.replicaId);
      scheduler.schedule(sweep);
      scheduler.schedule(reminders);
      scheduler.start();
      // Catching up runs in the background: start-up must not wait on a digest post.
      reloading = (async () => {
        await scheduler.catchUp(sweep);
        await scheduler.catchUp(reminders);
        await reload(true);
      })().catch((error) => deps.logger.error({ err: error }, 'schedule catch-up failed'));
      timer = setInterval(() => {
        reloading = reload(false).catch((error) => deps.logger.error({ err: error }, 'schedule reload failed'));
      }, scheduleReloadIntervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await reloading;
      await scheduler.stop();
    },
  };
}
