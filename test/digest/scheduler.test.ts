import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Job, previousSlot, Scheduler } from '../../src/digest/scheduler';
import { findRun } from '../../src/digest/scheduler.repository';
import { createTestClock } from '../../src/lib/clock';
import { createLogger } from '../../src/lib/logger';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => tdb.close());

const logger = createLogger('silent');

function countingJob(name: string, expression = '0 9 * * MON', timeZone = 'Europe/Berlin', catchUpGraceMs = 0) {
  const runs: Date[] = [];
  const job: Job = { name, expression, timeZone, catchUpGraceMs, run: async (slot) => void runs.push(slot) };
  return { job, runs };
}

describe('scheduled runs across replicas', () => {
  it('three replicas firing the same slot together run the job once', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-11-30T08:00:00Z'));
    const { job, runs } = countingJob(`job-${Math.random()}`);
    const replicas = [new Scheduler(ctx, logger), new Scheduler(ctx, logger), new Scheduler(ctx, logger)];
    const slot = new Date('2026-11-30T08:00:00Z');
    const claimed = await Promise.all(replicas.map((replica) => replica.runSlot(job, slot)));
    expect(claimed.filter(Boolean)).toHaveLength(1);
    expect(runs).toHaveLength(1);
    expect((await findRun(tdb.db.orm, `${job.name}:${slot.toISOString()}`))?.outcome).toBe('done');
  });

  it('a replica that was down at the scheduled time runs the missed slot once when it comes back within the grace period', async () => {
    const clock = createTestClock('2026-11-30T10:30:00Z');
    const ctx = createTestCtx(tdb.db, clock);
    const { job, runs } = countingJob(`job-${Math.random()}`, '0 9 * * MON', 'Europe/Berlin', 6 * 3_600_000);
    expect(await new Scheduler(ctx, logger).catchUp(job)).toBe(true);
    expect(await new Scheduler(ctx, logger).catchUp(job)).toBe(false);
    expect(runs.map((slot) => slot.toISOString())).toEqual(['2026-11-30T08:00:00.000Z']);
    clock.set('2026-11-30T20:00:00Z');
    const late = countingJob(`job-${Math.random()}`, '0 9 * * MON', 'Europe/Berlin', 6 * 3_600_000);
    expect(await new Scheduler(ctx, logger).catchUp(late.job)).toBe(false);
    expect(late.runs).toHaveLength(0);
  });

  it('a failing job is recorded as failed and does not stop the scheduler', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-11-30T08:00:00Z'));
    const name = `job-${Math.random()}`;
    const job: Job = {
      name,
      expression: '* * * * *',
      timeZone: 'UTC',
      run: async () => Promise.reject(new Error('boom')),
    };
    const slot = new Date('2026-11-30T08:00:00Z');
    expect(await new Scheduler(ctx, logger).runSlot(job, slot)).toBe(true);
    expect((await findRun(tdb.db.orm, `${name}:${slot.toISOString()}`))?.outcome).toContain('boom');
  });

  it('the slot before a time is found in the schedule’s own zone, across a daylight-saving change', () => {
    // 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer.
    expect(
      previousSlot('0 9 * * *', 'Europe/Berlin', new Date('2026-03-30T12:00:00Z'), 86_400_000)?.toISOString(),
    ).toBe('2026-03-30T07:00:00.000Z');
    expect(
      previousSlot('0 9 * * *', 'Europe/Berlin', new Date('2026-03-28T12:00:00Z'), 86_400_000)?.toISOString(),
    ).toBe('2026-03-28T08:00:00.000Z');
    expect(previousSlot('0 9 * * MON', 'UTC', new Date('2026-11-27T12:00:00Z'), 3_600_000)).toBeUndefined();
  });

  it('the node-cron timer calls the job on its schedule', async () => {
    const ctx = createTestCtx(tdb.db);
    const scheduler = new Scheduler(ctx, logger);
    const { job } = countingJob(`job-${Math.random()}`, '* * * * *', 'UTC');
    scheduler.schedule(job);
    expect(scheduler.jobNames()).toEqual([job.name]);
    await scheduler.stop();
    expect(scheduler.jobNames()).toEqual([]);
  });
});
