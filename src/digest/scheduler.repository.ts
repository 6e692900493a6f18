import { eq, sql } from 'drizzle-orm';
import { type Orm, queryRows } from '../db/client';
import { scheduledRuns } from './scheduler.tables';

/**
 * Claims a run key. The first claimer wins; a claim whose lease ran out without finishing (its
 * replica died mid-run) may be taken over. While a row exists under any of `earlierRunKeys` (what an
 * earlier version wrote for the same occurrence) nobody may claim it. Returns true when this caller
 * should run the job.
 */
export async function claimRun(
  orm: Orm,
  input: {
    idempotencyKey: string;
    earlierRunKeys?: readonly string[];
    orgId: bigint | null;
    claimedBy: string;
    now: Date;
    leaseMs: number;
  },
): Promise<boolean> {
  const leaseUntil = new Date(input.now.getTime() + input.leaseMs);
  const earlier = (input.earlierRunKeys ?? []).slice(0, 10);
  const noEarlierRun =
    earlier.length === 0
      ? sql`true`
      : sql`not exists (select 1 from scheduled_runs where run_key in (${sql.join(
          earlier.map((key) => sql`${key}`),
          sql`, `,
        )}))`;
  const rows = await queryRows<{ run_key: string }>(
    orm,
    sql`insert into scheduled_runs (run_key, org_id, claimed_by, claimed_at, lease_until)
        select ${input.idempotencyKey}, ${input.orgId}::bigint, ${input.claimedBy}, ${input.now.toISOString()}::timestamptz,
               ${leaseUntil.toISOString()}::timestamptz
         where ${noEarlierRun}
        on conflict (run_key) do update
           set claimed_by = excluded.claimed_by, claimed_at = excluded.claimed_at, lease_until = excluded.lease_until
         where scheduled_runs.finished_at is null and scheduled_runs.lease_until < excluded.claimed_at
        returning run_key`,
  );
  return rows.length === 1;
}

export async function finishRun(
  orm: Orm,
  input: { idempotencyKey: string; now: Date; outcome: string },
): Promise<void> {
  await orm
    .update(scheduledRuns)
    .set({ finishedAt: input.now, outcome: input.outcome.slice(0, 500) })
    .where(eq(scheduledRuns.idempotencyKey, input.idempotencyKey));
}

export async function findRun(orm: Orm, idempotencyKey: string) {
  const [row] = await orm.select().from(scheduledRuns).where(eq(scheduledRuns.idempotencyKey, idempotencyKey)).limit(1);
  return row;
}
