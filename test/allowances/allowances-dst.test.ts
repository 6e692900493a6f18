import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextAllowance, setAllowance } from '../../src/allowances/allowances.usecases';
import { allowanceSweepJob } from '../../src/digest/digest.module';
import { Scheduler } from '../../src/digest/scheduler';
import * as ledgerRepo from '../../src/ledger/ledger.repository';
import { auditLedger, getBalances } from '../../src/ledger/ledger.usecases';
import { createTestClock } from '../../src/lib/clock';
import { operatorActor } from '../../src/lib/context';
import { createLogger } from '../../src/lib/logger';
import { updateMember } from '../../src/members/members.repository';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeMember, makeOrganisation } from '../support/fixtures';

// Allowance periods start at local midnight, which some zones skip or repeat. They follow the same
// rule as every schedule: a skipped midnight starts the period at the first instant after the jump,
// a repeated one at its first showing, and each period's allowance is issued once.

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => tdb.close());

const logger = createLogger('silent');

/**
 * One member in `zone` with an allowance of 1,000 tokens a `period`; two replicas run the real
 * allowance sweep (every 15 minutes) while the test clock moves minute by minute from `from` to `to`.
 * Answers when the member's wallet grew, and by how much.
 */
async function sweepThrough(input: { zone: string; period: 'weekly' | 'monthly'; from: string; to: string }) {
  const clock = createTestClock(input.from);
  const ctx = createTestCtx(tdb.db, clock);
  const org = await makeOrganisation(ctx);
  const member = await makeMember(ctx, org.id, { name: 'Ana' });
  await updateMember(tdb.db.orm, org.id, member.id, { timeZone: input.zone });
  const set = await setAllowance(ctx, {
    orgId: org.id,
    actor: operatorActor,
    target: { memberId: member.id },
    amount: 1_000n,
    period: input.period,
    rolloverCapTokens: null,
  });
  expect(set.ok).toBe(true);
  const sweep = allowanceSweepJob({ ctx, logger });
  const replicas = [0, 1].map(() => {
    const replica = new Scheduler(ctx, logger);
    replica.schedule(sweep);
    return replica;
  });
  // The first sweep issues the current period's allowance.
  await replicas[0]!.catchUp({ ...sweep, catchUpGraceMs: 60 * 60_000 });
  const wallet = async () => (await getBalances(tdb.db.orm, org.id, member.id))!.wallet;
  const arrivals: string[] = [];
  let last = await wallet();
  let nextAtBefore: string | undefined;
  for (let at = clock.now().getTime() + 60_000; at <= new Date(input.to).getTime(); at += 60_000) {
    // The sweep runs on the quarter hour; the wallet can only change then.
    const sweeps = at % (15 * 60_000) === 0;
    if (sweeps && arrivals.length === 0)
      nextAtBefore = (await nextAllowance(ctx, { orgId: org.id, memberId: member.id }))?.at.toISOString();
    clock.set(new Date(at));
    await Promise.all(replicas.map((replica) => replica.tick()));
    if (!sweeps) continue;
    const now = await wallet();
    if (now !== last) arrivals.push(`${new Date(at).toISOString()} +${now - last}`);
    last = now;
  }
  const transfers = await ledgerRepo.listTransfers(tdb.db.orm, { orgId: org.id, limit: 100 });
  const keys = transfers
    .filter((transfer) => transfer.code === 'allocate')
    .map((transfer) => transfer.idempotencyKey.replace(/^allowance:\d+:\d+:/, ''))
    .sort();
  expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  return { arrivals, keys, nextAtBefore };
}

describe('allowance periods that start at a local midnight the clocks skip or repeat', () => {
  it('Asunción skips midnight on 1 October 2023: October’s allowance arrives once, at 01:00, the first instant after the jump', async () => {
    const { arrivals, keys, nextAtBefore } = await sweepThrough({
      zone: 'America/Asuncion',
      period: 'monthly',
      from: '2023-09-30T22:00:00Z',
      to: '2023-10-01T08:00:00Z',
    });
    // Clocks jump from 00:00 (−04:00) to 01:00 (−03:00) at 04:00 UTC.
    expect(nextAtBefore).toBe('2023-10-01T04:00:00.000Z');
    expect(arrivals).toEqual(['2023-10-01T04:00:00.000Z +1000']);
    expect(keys).toEqual(['2023-09-01', '2023-10-01']);
  });

  it('Havana repeats midnight on 1 November 2026: November’s allowance arrives once, at the first midnight', async () => {
    const { arrivals, keys, nextAtBefore } = await sweepThrough({
      zone: 'America/Havana',
      period: 'monthly',
      from: '2026-11-01T02:00:00Z',
      to: '2026-11-01T07:00:00Z',
    });
    // Midnight is shown at 04:00 UTC (−04:00) and again at 05:00 UTC (−05:00).
    expect(nextAtBefore).toBe('2026-11-01T04:00:00.000Z');
    expect(arrivals).toEqual(['2026-11-01T04:00:00.000Z +1000']);
    expect(keys).toEqual(['2026-10-01', '2026-11-01']);
  });

  it('Tehran skipped Monday midnight on 22 March 2021: that week’s allowance arrived once, at 01:00', async () => {
    const { arrivals, keys, nextAtBefore } = await sweepThrough({
      zone: 'Asia/Tehran',
      period: 'weekly',
      from: '2021-03-21T18:00:00Z',
      to: '2021-03-22T00:00:00Z',
    });
    // Clocks jumped from 00:00 (+03:30) to 01:00 (+04:30) at 20:30 UTC.
    expect(nextAtBefore).toBe('2021-03-21T20:30:00.000Z');
    expect(arrivals).toEqual(['2021-03-21T20:30:00.000Z +1000']);
    expect(keys).toEqual(['2021-03-15', '2021-03-22']);
  });
});
