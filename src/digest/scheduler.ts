import { randomUUID } from 'node:crypto';
import cron, { type RunCoordinator, type ScheduledTask } from 'node-cron';
import type { Ctx } from '../lib/context';
import type { Logger } from '../lib/logger';
import { claimRun, finishRun } from './scheduler.repository';

/** How long a claimed run may take before another replica may take it over. */
export const runLeaseMs = 10 * 60_000;
/** How far back a replica looks for a slot it missed (down at the time) when it starts. */
export const catchUpLookbackMinutesMax = 7 * 24 * 60;

/** node-cron's RunCoordinator backed by the database: replicas firing together run each slot once. */
export function createDatabaseRunCoordinator(ctx: Ctx, replicaId: string): RunCoordinator {
  return {
    shouldRun: (key, ttlMs) =>
      claimRun(ctx.db.orm, {
        runKey: key,
        orgId: null,
        claimedBy: replicaId,
        now: ctx.clock.now(),
        leaseMs: ttlMs || runLeaseMs,
      }),
    onComplete: (key) => finishRun(ctx.db.orm, { runKey: key, now: ctx.clock.now(), outcome: 'done' }),
  };
}

export interface Job {
  /** Unique and stable: it prefixes every run key (`<name>:<slot ISO>`). */
  name: string;
  expression: string;
  timeZone: string;
  run(slot: Date): Promise<void>;
  /** Missed slots within this window are run once when a replica starts (0: no catch-up). */
  catchUpGraceMs?: number;
  /** Slots before this instant are never caught up (the schedule did not exist yet). */
  notBefore?: Date;
}

export function runKeyOf(jobName: string, slot: Date): string {
  return `${jobName}:${slot.toISOString()}`;
}

/** The most recent slot of a cron expression at or before `now`, looking back at most `lookbackMs`. */
export function previousSlot(expression: string, timeZone: string, now: Date, lookbackMs: number): Date | undefined {
  const matcher = cron.createTask(expression, () => {}, { timezone: timeZone });
  try {
    const minutesMax = Math.min(Math.ceil(lookbackMs / 60_000), catchUpLookbackMinutesMax);
    const start = Math.floor(now.getTime() / 60_000) * 60_000;
    for (let minute = 0; minute <= minutesMax; minute++) {
      const candidate = new Date(start - minute * 60_000);
      if (matcher.match(candidate)) return candidate;
    }
    return undefined;
  } finally {
    matcher.destroy();
  }
}

/**
 * Runs jobs on their cron schedules across replicas: each slot runs once, claimed in the database.
 * `runSlot` and `catchUp` are the same paths node-cron uses, callable directly with an injected clock.
 */
export class Scheduler {
  private readonly tasks = new Map<string, { job: Job; task: ScheduledTask }>();
  private readonly coordinator: RunCoordinator;
  private readonly inFlight = new Set<Promise<unknown>>();
  readonly replicaId = `${process.pid}-${randomUUID().slice(0, 8)}`;

  constructor(
    private readonly ctx: Ctx,
    private readonly logger: Logger,
  ) {
    this.coordinator = createDatabaseRunCoordinator(ctx, this.replicaId);
  }

  /** Claims the slot and runs the job; returns false when another replica (or an earlier run) had it. */
  async runSlot(job: Job, slot: Date): Promise<boolean> {
    const key = runKeyOf(job.name, slot);
    if (!(await this.coordinator.shouldRun(key, runLeaseMs))) return false;
    const work = (async () => {
      try {
        await job.run(slot);
        await finishRun(this.ctx.db.orm, { runKey: key, now: this.ctx.clock.now(), outcome: 'done' });
      } catch (error) {
        this.logger.error({ err: error, job: job.name, slot }, 'scheduled job failed');
        await finishRun(this.ctx.db.orm, {
          runKey: key,
          now: this.ctx.clock.now(),
          outcome: `failed: ${String(error)}`,
        });
      }
    })();
    this.inFlight.add(work);
    try {
      await work;
    } finally {
      this.inFlight.delete(work);
    }
    return true;
  }

  /** Runs the latest missed slot of a job if it is within the job's grace period and nobody ran it. */
  async catchUp(job: Job): Promise<boolean> {
    const grace = job.catchUpGraceMs ?? 0;
    if (grace <= 0) return false;
    const slot = previousSlot(job.expression, job.timeZone, this.ctx.clock.now(), grace);
    if (!slot || (job.notBefore && slot < job.notBefore)) return false;
    return this.runSlot(job, slot);
  }

  /** Adds (or replaces) a job and starts its timer. */
  schedule(job: Job): void {
    this.unschedule(job.name);
    const task = cron.createTask(
      job.expression,
      async (context) => {
        const slot = new Date(Math.floor(context.date.getTime() / 60_000) * 60_000);
        await this.runSlot(job, slot);
      },
      { timezone: job.timeZone, name: job.name, noOverlap: true },
    );
    task.start();
    this.tasks.set(job.name, { job, task });
  }

  unschedule(name: string): void {
    const existing = this.tasks.get(name);
    if (!existing) return;
    existing.task.destroy();
    this.tasks.delete(name);
  }

  jobNames(): string[] {
    return [...this.tasks.keys()];
  }

  /** Stops every timer and waits for runs in flight. */
  async stop(): Promise<void> {
    for (const name of [...this.tasks.keys()]) this.unschedule(name);
    await Promise.allSettled([...this.inFlight]);
  }
}
