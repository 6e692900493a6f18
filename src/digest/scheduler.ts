import { randomUUID } from 'node:crypto';
import cron, { type ScheduledTask } from 'node-cron';
import type { Ctx } from '../lib/context';
import type { Logger } from '../lib/logger';
import {
  earlierRunKeysOf,
  idempotencyKeyOfRun,
  type Occurrence,
  OccurrenceFinder,
  occurrenceSearchMsMax,
} from './occurrences.models';
import { claimRun, finishRun } from './scheduler.repository';

/** How long a claimed run may take before another replica may take it over. */
export const runLeaseMs = 10 * 60_000;
/** How far back a replica looks for an occurrence it missed (down at the time) when it starts. */
export const catchUpLookbackMsMax = occurrenceSearchMsMax;
/**
 * How late a tick may run an occurrence of a job without catch-up grace (a tick delayed by a long
 * garbage collection, a busy event loop or a previous run of the same job still going).
 */
export const onTimeToleranceMs = 5 * 60_000;
/** A tick also runs what falls due within this much after it (timers may fire a little early). */
export const tickLeadMs = 1_000;
/** The ticker: every minute, in UTC; which jobs are due is computed from the clock, not by node-cron. */
export const tickExpression = '* * * * *';

export interface Job {
  /** Unique and stable: it prefixes every run key (see `idempotencyKeyOfRun`). */
  name: string;
  expression: string;
  timeZone: string;
  run(slot: ScheduledRun): Promise<void>;
  /** Missed occurrences within this window are run once when a replica starts (0: no catch-up). */
  catchUpGraceMs?: number;
  /** Occurrences before this instant are never run (the schedule did not exist yet). */
  notBefore?: Date;
}

/** One occurrence of a job as it is run, with the key under which replicas claim it. */
export interface ScheduledRun extends Occurrence {
  idempotencyKey: string;
}

interface Entry {
  job: Job;
  finder: OccurrenceFinder;
  /** Occurrences up to this instant (ms) were considered by this replica's ticks. */
  checkedUntil: number;
  /** No occurrence runs before this instant (ms) after `checkedUntil`; undefined: not computed yet. */
  quietUntil: number | undefined;
  /** The runs a tick started for this job; the next tick leaves the job alone until they end. */
  running: Promise<void> | undefined;
}

/**
 * Runs jobs on their cron schedules across replicas and daylight-saving changes. Every minute a tick
 * asks each job's schedule which local occurrences fell due since the last tick (a skipped local time
 * falls due at the first instant after the jump; a repeated one once, at its first showing), and each
 * is claimed in `scheduled_runs` under a key naming the local occurrence, so it runs once however many
 * replicas tick and however often a replica restarts. `tick` and `catchUp` read `ctx.clock`, so tests
 * drive the real scheduler with a test clock.
 */
export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private ticker: ScheduledTask | undefined;
  readonly replicaId = `${process.pid}-${randomUUID().slice(0, 8)}`;

  constructor(
    private readonly ctx: Ctx,
    private readonly logger: Logger,
  ) {}

  /** Claims the occurrence and runs the job; returns false when another replica (or an earlier run) had it. */
  async runOccurrence(job: Job, occurrence: Occurrence): Promise<boolean> {
    const key = idempotencyKeyOfRun(job.name, occurrence);
    const claimed = await claimRun(this.ctx.db.orm, {
      idempotencyKey: key,
      earlierRunKeys: earlierRunKeysOf(job.name, occurrence),
      orgId: null,
      claimedBy: this.replicaId,
      now: this.ctx.clock.now(),
      leaseMs: runLeaseMs,
    });
    if (!claimed) return false;
    const work = (async () => {
      try {
        await job.run({ ...occurrence, idempotencyKey: key });
        await finishRun(this.ctx.db.orm, { idempotencyKey: key, now: this.ctx.clock.now(), outcome: 'done' });
      } catch (error) {
        this.logger.error({ err: error, job: job.name, occurrence: key }, 'scheduled job failed');
        await finishRun(this.ctx.db.orm, {
          idempotencyKey: key,
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

  /** Runs the latest missed occurrence of a job if it is within the job's grace period and nobody ran it. */
  async catchUp(job: Job): Promise<boolean> {
    const grace = Math.min(job.catchUpGraceMs ?? 0, catchUpLookbackMsMax);
    if (grace <= 0) return false;
    const finder = this.entries.get(job.name)?.finder ?? new OccurrenceFinder(job.expression, job.timeZone);
    try {
      const occurrence = finder.latest(this.ctx.clock.now(), grace);
      if (!occurrence || (job.notBefore && occurrence.runAt < job.notBefore)) return false;
      return await this.runOccurrence(job, occurrence);
    } finally {
      if (!this.entries.has(job.name)) finder.dispose();
    }
  }

  /**
   * Adds (or replaces) a job. Its ticks consider occurrences from now on, or from when the schedule
   * was set if that was within the on-time tolerance (another replica may load it up to a minute late).
   */
  schedule(job: Job): void {
    this.unschedule(job.name);
    const now = this.ctx.clock.now().getTime();
    const since = job.notBefore ? Math.min(Math.max(job.notBefore.getTime(), now - onTimeToleranceMs), now) : now;
    this.entries.set(job.name, {
      job,
      finder: new OccurrenceFinder(job.expression, job.timeZone),
      checkedUntil: since,
      quietUntil: undefined,
      running: undefined,
    });
  }

  unschedule(name: string): void {
    const existing = this.entries.get(name);
    if (!existing) return;
    existing.finder.dispose();
    this.entries.delete(name);
  }

  jobNames(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * Runs every occurrence that fell due since the previous tick, per job oldest first, jobs side by
   * side; resolves when they are done. An occurrence later than the job's grace (or the on-time
   * tolerance) is not run: it was missed while this replica was stopped or stuck, and catch-up rules apply.
   */
  async tick(): Promise<void> {
    const now = this.ctx.clock.now().getTime();
    const until = now + tickLeadMs;
    const started: Promise<void>[] = [];
    for (const entry of this.entries.values()) {
      if (entry.running || until <= entry.checkedUntil) continue;
      entry.quietUntil ??= this.quietUntil(entry);
      if (until < entry.quietUntil) {
        entry.checkedUntil = until;
        continue;
      }
      const due = [...entry.finder.between(new Date(entry.checkedUntil), new Date(until))];
      entry.checkedUntil = until;
      entry.quietUntil = undefined;
      const lateMsMax = Math.max(entry.job.catchUpGraceMs ?? 0, onTimeToleranceMs);
      const runnable = due.filter((occurrence) => {
        if (entry.job.notBefore && occurrence.runAt < entry.job.notBefore) return false;
        if (now - occurrence.runAt.getTime() <= lateMsMax) return true;
        this.logger.warn({ job: entry.job.name, local: occurrence.local }, 'scheduled run missed: too late to run');
        return false;
      });
      if (runnable.length === 0) continue;
      const running = (async () => {
        for (const occurrence of runnable) await this.runOccurrence(entry.job, occurrence);
      })().finally(() => {
        entry.running = undefined;
      });
      entry.running = running;
      started.push(running);
    }
    await Promise.all(started);
  }

  /** The first instant after `checkedUntil` at which an occurrence of the entry's job runs (or the search horizon). */
  private quietUntil(entry: Entry): number {
    const horizon = entry.checkedUntil + occurrenceSearchMsMax;
    const next = entry.finder.between(new Date(entry.checkedUntil), new Date(horizon)).next();
    return next.done ? horizon : next.value.runAt.getTime();
  }

  /** Starts the minute ticker (node-cron). Tests call `tick` themselves instead. */
  start(): void {
    if (this.ticker) return;
    this.ticker = cron.createTask(
      tickExpression,
      async () => {
        const tick = this.tick().catch((error) => this.logger.error({ err: error }, 'scheduler tick failed'));
        this.inFlight.add(tick);
        await tick.finally(() => this.inFlight.delete(tick));
      },
      { timezone: 'UTC', name: `scheduler-${this.replicaId}` },
    );
    void this.ticker.start();
  }

  /** Stops the ticker and every job, and waits for runs in flight. */
  async stop(): Promise<void> {
    if (this.ticker) {
      void this.ticker.destroy();
      this.ticker = undefined;
    }
    for (const name of [...this.entries.keys()]) this.unschedule(name);
    await Promise.allSettled([...this.inFlight]);
  }
}
