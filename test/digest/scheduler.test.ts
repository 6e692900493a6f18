import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client';
import { OccurrenceFinder } from '../../src/digest/occurrences.models';
import { type Job, type ScheduledRun, Scheduler } from '../../src/digest/scheduler';
import { claimRun, findRun } from '../../src/digest/scheduler.repository';
import { createTestClock, type TestClock } from '../../src/lib/clock';
import { createLogger } from '../../src/lib/logger';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => tdb.close());

const logger = createLogger('silent');
const minuteMs = 60_000;
const hourMs = 3_600_000;

function countingJob(expression = '0 9 * * MON', timeZone = 'Europe/Berlin', catchUpGraceMs = 0) {
  const runs: ScheduledRun[] = [];
  const job: Job = {
    name: `job-${Math.random().toString(36).slice(2)}`,
    expression,
    timeZone,
    catchUpGraceMs,
    run: async (slot) => void runs.push(slot),
  };
  return { job, runs };
}

/** Replicas sharing one database and one test clock, each with the job scheduled. */
function replicasOf(clock: TestClock, job: Job, count: number) {
  return Array.from({ length: count }, () => {
    const replica = new Scheduler(createTestCtx(tdb.db, clock), logger);
    replica.schedule(job);
    return replica;
  });
}

/** Moves the clock minute by minute through (from, to], every replica ticking each minute together. */
async function tickThrough(clock: TestClock, replicas: Scheduler[], from: string, to: string) {
  for (let at = new Date(from).getTime() + minuteMs; at <= new Date(to).getTime(); at += minuteMs) {
    clock.set(new Date(at));
    await Promise.all(replicas.map((replica) => replica.tick()));
  }
}

const summary = (runs: ScheduledRun[]) => runs.map((run) => `${run.local} ${run.kind} at ${run.runAt.toISOString()}`);

describe('scheduled runs across replicas', () => {
  it('three replicas ticking the same minute together run the job once', async () => {
    const clock = createTestClock('2026-11-30T07:59:00Z');
    const { job, runs } = countingJob('0 9 * * MON', 'Europe/Berlin');
    const replicas = replicasOf(clock, job, 3);
    await tickThrough(clock, replicas, '2026-11-30T07:59:00Z', '2026-11-30T08:02:00Z');
    expect(summary(runs)).toEqual(['2026-11-30T09:00 unique at 2026-11-30T08:00:00.000Z']);
    expect((await findRun(tdb.db.orm, `${job.name}:2026-11-30T08:00:00.000Z`))?.outcome).toBe('done');
  });

  it('a replica that was down at the scheduled time runs the missed occurrence once when it comes back within the grace period', async () => {
    const clock = createTestClock('2026-11-30T10:30:00Z');
    const ctx = createTestCtx(tdb.db, clock);
    const { job, runs } = countingJob('0 9 * * MON', 'Europe/Berlin', 6 * hourMs);
    expect(await new Scheduler(ctx, logger).catchUp(job)).toBe(true);
    expect(await new Scheduler(ctx, logger).catchUp(job)).toBe(false);
    expect(runs.map((run) => run.runAt.toISOString())).toEqual(['2026-11-30T08:00:00.000Z']);
    clock.set('2026-11-30T20:00:00Z');
    const late = countingJob('0 9 * * MON', 'Europe/Berlin', 6 * hourMs);
    expect(await new Scheduler(ctx, logger).catchUp(late.job)).toBe(false);
    expect(late.runs).toHaveLength(0);
  });

  it('a failing job is recorded as failed and does not stop the scheduler', async () => {
    const clock = createTestClock('2026-11-30T07:59:30Z');
    const name = `job-${Math.random()}`;
    const runs: string[] = [];
    const job: Job = {
      name,
      expression: '* * * * *',
      timeZone: 'UTC',
      run: async (slot) => {
        runs.push(slot.local);
        if (runs.length === 1) throw new Error('boom');
      },
    };
    const [replica] = replicasOf(clock, job, 1);
    await tickThrough(clock, [replica!], '2026-11-30T07:59:00Z', '2026-11-30T08:01:00Z');
    expect(runs).toEqual(['2026-11-30T08:00', '2026-11-30T08:01']);
    expect((await findRun(tdb.db.orm, `${name}:2026-11-30T08:00:00.000Z`))?.outcome).toContain('boom');
    expect((await findRun(tdb.db.orm, `${name}:2026-11-30T08:01:00.000Z`))?.outcome).toBe('done');
  });

  it('a tick that comes too late for an occurrence leaves it to catch-up rather than running it hours late', async () => {
    const clock = createTestClock('2026-11-30T07:00:00Z');
    const { job, runs } = countingJob('0 9 * * MON', 'Europe/Berlin');
    const [replica] = replicasOf(clock, job, 1);
    clock.set('2026-11-30T11:00:00Z');
    await replica!.tick();
    expect(runs).toEqual([]);
  });

  it('the latest occurrence before a time is found on the schedule’s own local calendar, across a daylight-saving change', () => {
    // 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer.
    const daily = new OccurrenceFinder('0 9 * * *', 'Europe/Berlin');
    expect(daily.latest(new Date('2026-03-30T12:00:00Z'), 86_400_000)?.runAt.toISOString()).toBe(
      '2026-03-30T07:00:00.000Z',
    );
    expect(daily.latest(new Date('2026-03-28T12:00:00Z'), 86_400_000)?.runAt.toISOString()).toBe(
      '2026-03-28T08:00:00.000Z',
    );
    daily.dispose();
    const monday = new OccurrenceFinder('0 9 * * MON', 'UTC');
    expect(monday.latest(new Date('2026-11-27T12:00:00Z'), 3_600_000)).toBeUndefined();
    monday.dispose();
  });

  it('the node-cron ticker starts with the scheduler and stops with it', async () => {
    const ctx = createTestCtx(tdb.db);
    const scheduler = new Scheduler(ctx, logger);
    const { job } = countingJob('* * * * *', 'UTC');
    scheduler.schedule(job);
    scheduler.start();
    expect(scheduler.jobNames()).toEqual([job.name]);
    await scheduler.stop();
    expect(scheduler.jobNames()).toEqual([]);
  });
});

/**
 * One run per local occurrence, across daylight-saving changes: a local time the clocks jump over runs
 * once at the first instant after the jump; a local time they repeat runs once, at its first showing.
 * Two replicas tick every minute of the two days around each change.
 */
describe('schedules across daylight-saving changes, two replicas ticking every minute', () => {
  const cases = [
    {
      rule: 'New York springs forward: a daily 02:30 runs at 03:00, the first instant after the jump',
      zone: 'America/New_York',
      expression: '30 2 * * *',
      from: '2026-03-07T12:00:00Z',
      to: '2026-03-09T12:00:00Z',
      runs: [
        '2026-03-08T02:30 skipped at 2026-03-08T07:00:00.000Z',
        '2026-03-09T02:30 unique at 2026-03-09T06:30:00.000Z',
      ],
    },
    {
      rule: 'New York springs forward: the weekly digest at 02:30 on Sunday is not lost',
      zone: 'America/New_York',
      expression: '30 2 * * SUN',
      from: '2026-03-07T12:00:00Z',
      to: '2026-03-09T12:00:00Z',
      runs: ['2026-03-08T02:30 skipped at 2026-03-08T07:00:00.000Z'],
    },
    {
      rule: 'New York springs forward: 01:59 runs before the jump, 02:00 and 02:30 at 03:00 beside 03:00 itself, 03:30 after',
      zone: 'America/New_York',
      expression: '59 1 * * *;0,30 2,3 * * *',
      from: '2026-03-08T05:00:00Z',
      to: '2026-03-08T09:00:00Z',
      runs: [
        '2026-03-08T01:59 unique at 2026-03-08T06:59:00.000Z',
        '2026-03-08T02:00 skipped at 2026-03-08T07:00:00.000Z',
        '2026-03-08T02:30 skipped at 2026-03-08T07:00:00.000Z',
        '2026-03-08T03:00 unique at 2026-03-08T07:00:00.000Z',
        '2026-03-08T03:30 unique at 2026-03-08T07:30:00.000Z',
      ],
    },
    {
      rule: 'New York falls back: a daily 01:30, shown twice, runs once at its first showing',
      zone: 'America/New_York',
      expression: '30 1 * * *',
      from: '2026-10-31T12:00:00Z',
      to: '2026-11-02T12:00:00Z',
      runs: [
        '2026-11-01T01:30 repeated at 2026-11-01T05:30:00.000Z',
        '2026-11-02T01:30 unique at 2026-11-02T06:30:00.000Z',
      ],
    },
    {
      rule: 'New York falls back: a weekly 01:30 on Sunday runs once',
      zone: 'America/New_York',
      expression: '30 1 * * SUN',
      from: '2026-10-31T12:00:00Z',
      to: '2026-11-02T12:00:00Z',
      runs: ['2026-11-01T01:30 repeated at 2026-11-01T05:30:00.000Z'],
    },
    {
      rule: 'New York falls back: 00:59 and 02:00 are shown once and run once; 01:00 runs at its first showing',
      zone: 'America/New_York',
      expression: '59 0 * * *;0 1,2 * * *',
      from: '2026-11-01T03:00:00Z',
      to: '2026-11-01T09:00:00Z',
      runs: [
        '2026-11-01T00:59 unique at 2026-11-01T04:59:00.000Z',
        '2026-11-01T01:00 repeated at 2026-11-01T05:00:00.000Z',
        '2026-11-01T02:00 unique at 2026-11-01T07:00:00.000Z',
      ],
    },
    {
      rule: 'Berlin springs forward: a daily 02:30 runs at 03:00 summer time',
      zone: 'Europe/Berlin',
      expression: '30 2 * * *',
      from: '2026-03-28T12:00:00Z',
      to: '2026-03-30T12:00:00Z',
      runs: [
        '2026-03-29T02:30 skipped at 2026-03-29T01:00:00.000Z',
        '2026-03-30T02:30 unique at 2026-03-30T00:30:00.000Z',
      ],
    },
    {
      rule: 'Berlin springs forward: a weekly 02:30 on Sunday is not lost',
      zone: 'Europe/Berlin',
      expression: '30 2 * * SUN',
      from: '2026-03-28T12:00:00Z',
      to: '2026-03-30T12:00:00Z',
      runs: ['2026-03-29T02:30 skipped at 2026-03-29T01:00:00.000Z'],
    },
    {
      rule: 'Berlin falls back: a daily 02:30, shown twice, runs once at its first showing',
      zone: 'Europe/Berlin',
      expression: '30 2 * * *',
      from: '2026-10-24T12:00:00Z',
      to: '2026-10-26T12:00:00Z',
      runs: [
        '2026-10-25T02:30 repeated at 2026-10-25T00:30:00.000Z',
        '2026-10-26T02:30 unique at 2026-10-26T01:30:00.000Z',
      ],
    },
    {
      rule: 'Berlin falls back: a weekly 02:30 on Sunday runs once',
      zone: 'Europe/Berlin',
      expression: '30 2 * * SUN',
      from: '2026-10-24T12:00:00Z',
      to: '2026-10-26T12:00:00Z',
      runs: ['2026-10-25T02:30 repeated at 2026-10-25T00:30:00.000Z'],
    },
  ];

  it.each(cases)('$rule', async ({ zone, expression, from, to, runs: expected }) => {
    const clock = createTestClock(from);
    // Several expressions (separated by ";") are several jobs: their runs are listed together.
    const jobs = expression.split(';').map((part) => countingJob(part, zone));
    const replicas = [0, 1].map(() => {
      const replica = new Scheduler(createTestCtx(tdb.db, clock), logger);
      for (const { job } of jobs) replica.schedule(job);
      return replica;
    });
    await tickThrough(clock, replicas, from, to);
    const runs = jobs.flatMap((job) => job.runs).sort((a, b) => a.runAt.getTime() - b.runAt.getTime());
    expect(summary(runs).sort()).toEqual([...expected].sort());
    // Each run was claimed once, under a key naming its local occurrence.
    for (const run of runs) expect((await findRun(tdb.db.orm, run.idempotencyKey))?.outcome).toBe('done');
    expect(new Set(runs.map((run) => run.idempotencyKey)).size).toBe(runs.length);
  });

  it('a replica whose ticks fall at odd seconds (a real timer) still runs the skipped 02:30 once, at the jump', async () => {
    const clock = createTestClock('2026-03-08T06:59:28.773Z');
    const { job, runs } = countingJob('30 2 * * SUN', 'America/New_York');
    const [replica] = replicasOf(clock, job, 1);
    for (const at of ['2026-03-08T07:00:00.006Z', '2026-03-08T07:01:00.004Z', '2026-03-08T07:02:00.011Z']) {
      clock.set(at);
      await replica!.tick();
    }
    expect(summary(runs)).toEqual(['2026-03-08T02:30 skipped at 2026-03-08T07:00:00.000Z']);
  });

  it('the run key of a skipped or repeated local time names the local date, time and zone; others keep the instant', async () => {
    const clock = createTestClock('2026-03-08T06:00:00Z');
    const { job, runs } = countingJob('30 2 * * *', 'America/New_York');
    await tickThrough(clock, replicasOf(clock, job, 1), '2026-03-08T06:00:00Z', '2026-03-09T07:00:00Z');
    expect(runs.map((run) => run.idempotencyKey)).toEqual([
      `${job.name}:2026-03-08T02:30[America/New_York]`,
      `${job.name}:2026-03-09T06:30:00.000Z`,
    ]);
  });
});

describe('a restart in the middle of a daylight-saving change', () => {
  const grace = 12 * hourMs;

  it('New York springs forward while no replica runs: the one that starts after the jump runs 02:30 once, and later restarts do not', async () => {
    const clock = createTestClock('2026-03-08T05:00:00Z');
    const { job, runs } = countingJob('30 2 * * SUN', 'America/New_York', grace);
    const [first] = replicasOf(clock, job, 1);
    await tickThrough(clock, [first!], '2026-03-08T05:00:00Z', '2026-03-08T06:50:00Z');
    await first!.stop();
    expect(runs).toEqual([]);

    clock.set('2026-03-08T07:20:00Z');
    const [second] = replicasOf(clock, job, 1);
    expect(await second!.catchUp(job)).toBe(true);
    await tickThrough(clock, [second!], '2026-03-08T07:20:00Z', '2026-03-08T12:00:00Z');
    clock.set('2026-03-08T13:00:00Z');
    const [third] = replicasOf(clock, job, 1);
    expect(await third!.catchUp(job)).toBe(false);
    expect(summary(runs)).toEqual(['2026-03-08T02:30 skipped at 2026-03-08T07:00:00.000Z']);
  });

  it('New York falls back after 01:30 ran: a replica starting during the second 01:00 hour runs nothing again', async () => {
    const clock = createTestClock('2026-11-01T04:00:00Z');
    const { job, runs } = countingJob('30 1 * * *', 'America/New_York', grace);
    const [first] = replicasOf(clock, job, 1);
    await tickThrough(clock, [first!], '2026-11-01T04:00:00Z', '2026-11-01T05:45:00Z');
    await first!.stop();
    clock.set('2026-11-01T06:20:00Z');
    const [second] = replicasOf(clock, job, 1);
    expect(await second!.catchUp(job)).toBe(false);
    await tickThrough(clock, [second!], '2026-11-01T06:20:00Z', '2026-11-01T08:00:00Z');
    expect(summary(runs)).toEqual(['2026-11-01T01:30 repeated at 2026-11-01T05:30:00.000Z']);
  });

  it('New York falls back while no replica ran the first 01:30: the one starting in the second 01:00 hour runs it once', async () => {
    const clock = createTestClock('2026-11-01T06:10:00Z');
    const { job, runs } = countingJob('30 1 * * *', 'America/New_York', grace);
    const [replica] = replicasOf(clock, job, 1);
    expect(await replica!.catchUp(job)).toBe(true);
    await tickThrough(clock, [replica!], '2026-11-01T06:10:00Z', '2026-11-01T08:00:00Z');
    expect(summary(runs)).toEqual(['2026-11-01T01:30 repeated at 2026-11-01T05:30:00.000Z']);
  });

  it('Berlin springs forward and falls back with two replicas restarting in turn: one run per local occurrence', async () => {
    for (const [from, stopAt, restartAt, to, expected] of [
      [
        '2026-03-28T23:00:00Z',
        '2026-03-29T00:55:00Z',
        '2026-03-29T01:05:00Z',
        '2026-03-29T06:00:00Z',
        '2026-03-29T02:30 skipped at 2026-03-29T01:00:00.000Z',
      ],
      [
        '2026-10-24T22:00:00Z',
        '2026-10-25T00:45:00Z',
        '2026-10-25T01:10:00Z',
        '2026-10-25T06:00:00Z',
        '2026-10-25T02:30 repeated at 2026-10-25T00:30:00.000Z',
      ],
    ] as const) {
      const clock = createTestClock(from);
      const { job, runs } = countingJob('30 2 * * *', 'Europe/Berlin', grace);
      const before = replicasOf(clock, job, 2);
      await tickThrough(clock, before, from, stopAt);
      await Promise.all(before.map((replica) => replica.stop()));
      clock.set(restartAt);
      const after = replicasOf(clock, job, 2);
      await Promise.all(after.map((replica) => replica.catchUp(job)));
      await tickThrough(clock, after, restartAt, to);
      expect(summary(runs)).toEqual([expected]);
    }
  });
});

describe('upgrading from run keys named by instants', () => {
  it('a repeated local time already run under its old instant key is not run again', async () => {
    const clock = createTestClock('2026-11-01T05:40:00Z');
    const { job, runs } = countingJob('30 1 * * *', 'America/New_York', 12 * hourMs);
    // What the previous version wrote when node-cron fired at the first 01:30.
    expect(
      await claimRun(tdb.db.orm, {
        idempotencyKey: `${job.name}:2026-11-01T05:30:00.000Z`,
        orgId: null,
        claimedBy: 'old-version',
        now: new Date('2026-11-01T05:30:00Z'),
        leaseMs: 600_000,
      }),
    ).toBe(true);
    const [replica] = replicasOf(clock, job, 1);
    expect(await replica!.catchUp(job)).toBe(false);
    await tickThrough(clock, [replica!], '2026-11-01T05:40:00Z', '2026-11-01T07:00:00Z');
    expect(runs).toEqual([]);
  });

  it('a local time shown once keeps the key it always had, so a run recorded before the upgrade counts', async () => {
    const clock = createTestClock('2026-11-30T08:30:00Z');
    const { job, runs } = countingJob('0 9 * * MON', 'Europe/Berlin', 12 * hourMs);
    await queryRows(
      tdb.db.orm,
      sql`insert into scheduled_runs (run_key, claimed_by, claimed_at, lease_until, finished_at, outcome)
          values (${`${job.name}:2026-11-30T08:00:00.000Z`}, 'old-version', now(), now(), now(), 'done')`,
    );
    const [replica] = replicasOf(clock, job, 1);
    expect(await replica!.catchUp(job)).toBe(false);
    expect(runs).toEqual([]);
  });
});
