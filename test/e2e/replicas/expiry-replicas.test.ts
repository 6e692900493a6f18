import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../../src/db/client';
import { findAccount } from '../../../src/ledger/ledger.repository';
import { auditLedger, getBalances } from '../../../src/ledger/ledger.usecases';
import { systemClock } from '../../../src/lib/clock';
import { freePort, killAll, type Spawned, spawnServer, waitForHealthy, withTimeout } from '../../start/spawn';
import { createTestDatabase, onPostgres, type TestDatabase } from '../../support/db';
import { makeMember, makeOrganisation } from '../../support/fixtures';

// Grants expire at their instant, exactly once, whichever replica sweeps: three servers on one
// Postgres, all killed with SIGKILL while the first lots are expiring, three fresh ones started.
describe.runIf(onPostgres)('lot expiry on three replicas', () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase();
  });
  afterAll(async () => {
    killAll();
    await tdb.close();
  });

  async function startReplicas(count: number): Promise<Spawned[]> {
    const replicas: Spawned[] = [];
    for (let index = 0; index < count; index++) {
      const port = await freePort();
      const replica = spawnServer({ DATABASE_URL: tdb.url, PORT: String(port), LOG_LEVEL: 'warn' });
      replicas.push(replica);
      await waitForHealthy(replica, port);
    }
    return replicas;
  }

  const expireTransfers = async (orgId: bigint) =>
    queryRows<{ lot_id: string; amount: string; expires: string }>(
      tdb.db.orm,
      sql`select d.lot_id::text, t.amount::text, count(*) over (partition by d.lot_id)::text as expires
            from transfers t join lot_draws d on d.org_id = t.org_id and d.transfer_id = t.id
           where t.org_id = ${orgId.toString()}::bigint and t.code = 'expire'`,
    );

  it('every grant expires once at its instant, though every replica is killed mid-sweep and restarted', async () => {
    const ctx = { db: tdb.db, clock: systemClock };
    const org = await makeOrganisation(ctx);
    const members = await Promise.all(
      Array.from({ length: 20 }, (_, index) => makeMember(ctx, org.id, { name: `P${index}` })),
    );
    const wallets = await Promise.all(
      members.map(async (member) => (await getBalances(tdb.db.orm, org.id, member.id))!.walletAccountId),
    );
    const first = await startReplicas(3);

    // 600 grants, 30 per person, each its own lot, all expiring 5 s from now; one grant each that never expires.
    const treasury = (await findAccount(tdb.db.orm, org.id, 'treasury'))!.id;
    const expiresAt = new Date(Date.now() + 5_000);
    const legs = Array.from({ length: 600 }, (_, index) => wallets[index % wallets.length]!);
    const lasting = wallets;
    await queryRows(
      tdb.db.orm,
      sql`select o_status from allot_post(${org.id.toString()}::bigint, 'expiring-grants', 'h', 'grant',
            ${`{${legs.map(() => treasury).join(',')}}`}::bigint[], ${`{${legs.join(',')}}`}::bigint[],
            ${`{${legs.map((_, index) => 100 + index).join(',')}}`}::bigint[], null, 'cli', 'expiring', null,
            ${`{${legs.map(() => `"${expiresAt.toISOString()}"`).join(',')}}`}::timestamptz[])`,
    );
    await queryRows(
      tdb.db.orm,
      sql`select o_status from allot_post(${org.id.toString()}::bigint, 'lasting-grants', 'h', 'grant',
            ${`{${lasting.map(() => treasury).join(',')}}`}::bigint[], ${`{${lasting.join(',')}}`}::bigint[],
            ${`{${lasting.map(() => 7).join(',')}}`}::bigint[], null, 'cli', 'lasting', null)`,
    );

    // As soon as the first lot has expired, kill every replica, whichever was sweeping, and start three more.
    await withTimeout(
      (async () => {
        while ((await expireTransfers(org.id)).length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      })(),
      60_000,
      'the first lot to expire',
    );
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt.getTime());
    for (const replica of first) replica.child.kill('SIGKILL');
    await Promise.all(first.map((replica) => withTimeout(replica.exited, 20_000, 'a killed replica to exit')));
    // The kill came in the middle of the sweep: some lots expired, not all.
    const beforeRestart = (await expireTransfers(org.id)).length;
    expect(beforeRestart).toBeGreaterThan(0);
    expect(beforeRestart).toBeLessThan(600);
    const second = await startReplicas(3);

    await withTimeout(
      (async () => {
        while ((await expireTransfers(org.id)).length < 600) await new Promise((resolve) => setTimeout(resolve, 250));
      })(),
      60_000,
      'every lot to expire',
    );
    // Give the replicas another sweep to (wrongly) expire something twice before counting.
    await new Promise((resolve) => setTimeout(resolve, 16_000));
    const expired = await expireTransfers(org.id);
    expect(expired).toHaveLength(600);
    expect(expired.every((row) => row.expires === '1')).toBe(true);
    const total = expired.reduce((sum, row) => sum + BigInt(row.amount), 0n);
    expect(total).toBe(legs.reduce((sum, _, index) => sum + 100n + BigInt(index), 0n));
    for (const member of members) expect((await getBalances(tdb.db.orm, org.id, member.id))?.wallet).toBe(7n);
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);

    for (const replica of second) replica.child.kill('SIGTERM');
    const exits = await Promise.all(second.map((replica) => withTimeout(replica.exited, 20_000, 'a replica to stop')));
    expect(exits.map((exit) => exit.code)).toEqual([0, 0, 0]);
  }, 240_000);
});
