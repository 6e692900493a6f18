import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database, queryRows } from '../../src/db/client';
import { findAccount, findUsageStripes, pickUsageStripe } from '../../src/ledger/ledger.repository';
import { auditLedger, debitUsage, getBalances, grantTokens, issueBudget } from '../../src/ledger/ledger.usecases';
import { reverseTransfer } from '../../src/ledger/reversal.usecases';
import { type Actor, operatorActor } from '../../src/lib/context';
import { createTestCtx, createTestDatabase, onPostgres, type TestDatabase } from '../support/db';
import { makeMember, makeOrganisation } from '../support/fixtures';

// Eight clients, each on its own connection, post a mix of grants, usage debits and reversals at once.
// Afterwards every stored balance must equal what the acknowledged answers add up to (no drift, nothing
// lost or posted twice), the audit must find nothing, and Postgres must have seen no deadlock. PGlite
// serves one connection, so there is nothing concurrent to test there.

const clientsCount = 8;

interface Leg {
  debit: bigint;
  credit: bigint;
  amount: bigint;
}

interface Scenario {
  orgId: bigint;
  managers: bigint[];
  people: bigint[];
  walletOf: Map<bigint, bigint>;
  /** The usage account's stripe each wallet's usage credits, by wallet (read once, not per debit). */
  usageOf: Map<bigint, bigint>;
  budgetOf: Map<bigint, bigint>;
  treasury: bigint;
  usage: bigint;
  /** Every transfer some client was told was posted, by id. */
  acknowledged: Map<bigint, Leg>;
  /** The same ids in the order they were first acknowledged (reversals pick among the latest). */
  acknowledgedIds: bigint[];
}

let tdb: TestDatabase;
let databaseName: string;
beforeAll(async () => {
  if (!onPostgres) return;
  tdb = await createTestDatabase({ poolMax: 2 });
  databaseName = new URL(tdb.url!).pathname.slice(1);
  // Durability is not what these tests check; skipping the wait on fsync keeps them short.
  await tdb.db.orm.execute(sql.raw(`alter database "${databaseName}" set synchronous_commit = off`));
});
afterAll(async () => tdb?.close());

async function deadlocks(): Promise<number> {
  await tdb.db.orm.execute(sql`select pg_stat_clear_snapshot()`);
  const [row] = await queryRows<{ deadlocks: string }>(
    tdb.db.orm,
    sql`select deadlocks::text from pg_stat_database where datname = ${databaseName}`,
  );
  return Number(row?.deadlocks ?? 0);
}

async function setUp(managersCount: number, peopleCount: number): Promise<Scenario> {
  const ctx = createTestCtx(tdb.db);
  const org = await makeOrganisation(ctx);
  const managers: bigint[] = [];
  const people: bigint[] = [];
  for (let i = 0; i < managersCount; i++) managers.push((await makeMember(ctx, org.id, { role: 'manager' })).id);
  for (let i = 0; i < peopleCount; i++)
    people.push((await makeMember(ctx, org.id, { managerId: managers[i % managersCount] })).id);
  const scenario: Scenario = {
    orgId: org.id,
    managers,
    people,
    walletOf: new Map(),
    usageOf: new Map(),
    budgetOf: new Map(),
    treasury: (await findAccount(tdb.db.orm, org.id, 'treasury'))!.id,
    usage: (await findAccount(tdb.db.orm, org.id, 'usage'))!.id,
    acknowledged: new Map(),
    acknowledgedIds: [],
  };
  const stripes = await findUsageStripes(tdb.db.orm, org.id);
  for (const id of [...managers, ...people]) {
    const balances = (await getBalances(tdb.db.orm, org.id, id))!;
    scenario.walletOf.set(id, balances.walletAccountId);
    scenario.usageOf.set(balances.walletAccountId, pickUsageStripe(stripes, balances.walletAccountId)!.id);
    scenario.budgetOf.set(id, balances.budgetAccountId);
  }
  for (const managerId of managers) {
    const issued = await issueBudget(ctx, {
      orgId: org.id,
      actor: operatorActor,
      managerId,
      amount: 2_000_000n,
      idempotencyKey: `seed-budget-${managerId}`,
    });
    if (!issued.ok) throw new Error(issued.failure);
    acknowledge(scenario, issued.value.transferIds[0]!, {
      debit: scenario.treasury,
      credit: scenario.budgetOf.get(managerId)!,
      amount: 2_000_000n,
    });
  }
  return scenario;
}

/** Records a transfer some client was told was posted (a replayed answer records nothing new). */
function acknowledge(scenario: Scenario, transferId: bigint, leg: Leg): void {
  if (!scenario.acknowledged.has(transferId)) scenario.acknowledgedIds.push(transferId);
  scenario.acknowledged.set(transferId, leg);
}

type Operation = (db: Database, scenario: Scenario, serial: number) => Promise<void>;

/** The real verbs: a grant from a budget, a usage debit, or a reversal of an acknowledged transfer. */
const realMix: Operation = async (db, scenario, serial) => {
  const ctx = createTestCtx(db);
  const { orgId } = scenario;
  const roll = Math.random();
  const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)]!;
  if (roll < 0.3) {
    const managerId = pick(scenario.managers);
    const recipientIds = [...new Set([pick(scenario.people), pick(scenario.people)])];
    const amount = BigInt(1 + Math.floor(Math.random() * 1_000));
    const input = {
      orgId,
      actor: { kind: 'member', memberId: managerId, platform: 'slack' } as Actor,
      recipientIds,
      amount,
      idempotencyKey: `grant-${serial}`,
    };
    // One grant in twenty is delivered twice at once, as Slack does on a slow acknowledgement.
    const deliveries =
      Math.random() < 0.05 ? [grantTokens(ctx, input), grantTokens(ctx, input)] : [grantTokens(ctx, input)];
    const results = await Promise.all(deliveries);
    for (const result of results) {
      if (!result.ok) {
        expect(result.failure).toBe('exceeds_budget');
        continue;
      }
      for (const { memberId, transferId } of result.value.recipients) {
        acknowledge(scenario, transferId, {
          debit: scenario.budgetOf.get(managerId)!,
          credit: scenario.walletOf.get(memberId)!,
          amount,
        });
      }
    }
    if (results.length === 2 && results[0]!.ok && results[1]!.ok) {
      expect(results[0]!.value.transferIds).toEqual(results[1]!.value.transferIds);
    }
  } else if (roll < 0.9) {
    const memberId = pick(scenario.people);
    const amount = BigInt(1 + Math.floor(Math.random() * 1_500));
    const key = `usage-${serial}`;
    const result = await debitUsage(db.orm, { orgId, memberId, amount, idempotencyKey: key, body: { key, amount } });
    if (!result.ok) throw new Error(`usage refused: ${result.failure}`);
    const wallet = scenario.walletOf.get(memberId)!;
    acknowledge(scenario, result.value.transferIds[0]!, {
      debit: wallet,
      // Usage credits the wallet's stripe of the usage account.
      credit: scenario.usageOf.get(wallet)!,
      amount,
    });
  } else {
    const transferId = pick(scenario.acknowledgedIds.slice(-200));
    const result = await reverseTransfer(ctx, {
      orgId,
      actor: operatorActor,
      transferId,
      idempotencyKey: `reverse-${serial}`,
    });
    if (!result.ok) {
      // nothing_left: a grant whose lot was spent has nothing to take back (issue 16).
      expect(['already_reversed', 'exceeds_balance', 'cannot_reverse_reversal', 'nothing_left']).toContain(
        result.failure,
      );
      return;
    }
    const original = result.value.reversed;
    acknowledge(scenario, result.value.transferIds[0]!, {
      debit: original.creditAccountId,
      credit: original.debitAccountId,
      // What remained of the lot, which may be less than the grant.
      amount: result.value.amount,
    });
  }
};

/**
 * What the ledger must never do: read a balance into JavaScript, compute, and write it back. Run
 * concurrently it loses updates; the checks below must notice.
 */
const naiveDebit: Operation = async (db, scenario, serial) => {
  const memberId = scenario.people[Math.floor(Math.random() * scenario.people.length)]!;
  const wallet = scenario.walletOf.get(memberId)!;
  const amount = BigInt(1 + Math.floor(Math.random() * 100));
  const read = async (id: bigint) =>
    BigInt(
      (
        await queryRows<{ balance: string }>(
          db.orm,
          sql`select balance::text from accounts where id = ${id.toString()}::bigint`,
        )
      )[0]!.balance,
    );
  const walletBalance = await read(wallet);
  const usageBalance = await read(scenario.usage);
  await db.orm.execute(
    sql`update accounts set balance = ${(walletBalance - amount).toString()}::bigint where id = ${wallet.toString()}::bigint`,
  );
  await db.orm.execute(
    sql`update accounts set balance = ${(usageBalance + amount).toString()}::bigint where id = ${scenario.usage.toString()}::bigint`,
  );
  const [row] = await queryRows<{ id: string }>(
    db.orm,
    sql`insert into transfers (org_id, operation_key, leg, request_hash, debit_account_id, credit_account_id, amount, code, platform)
        values (${scenario.orgId.toString()}::bigint, ${`naive-${serial}`}, 1, 'naive', ${wallet.toString()}::bigint,
                ${scenario.usage.toString()}::bigint, ${amount.toString()}::bigint, 'usage', 'api')
        returning id::text`,
  );
  acknowledge(scenario, BigInt(row!.id), { debit: wallet, credit: scenario.usage, amount });
};

/** Runs `count` operations spread over `clientsCount` clients, each with its own connection. */
async function runConcurrently(scenario: Scenario, operation: Operation, count: number): Promise<void> {
  const clients = await Promise.all(
    Array.from({ length: clientsCount }, () => createDatabase({ databaseUrl: tdb.url!, poolMax: 1 })),
  );
  let next = 0;
  try {
    await Promise.all(
      clients.map(async (db) => {
        for (let serial = next++; serial < count; serial = next++) await operation(db, scenario, serial);
      }),
    );
  } finally {
    // Closing the connections also makes each backend flush its statistics, deadlocks included.
    await Promise.all(clients.map((db) => db.close()));
  }
}

/** Balances the acknowledged answers add up to, beside what the database stores, for every drifting account. */
async function drift(scenario: Scenario): Promise<{ account: string; expected: string; stored: string }[]> {
  const expected = new Map<bigint, bigint>();
  for (const leg of scenario.acknowledged.values()) {
    expected.set(leg.debit, (expected.get(leg.debit) ?? 0n) - leg.amount);
    expected.set(leg.credit, (expected.get(leg.credit) ?? 0n) + leg.amount);
  }
  const rows = await queryRows<{ id: string; balance: string }>(
    tdb.db.orm,
    sql`select id::text, balance::text from accounts where org_id = ${scenario.orgId.toString()}::bigint`,
  );
  return rows
    .filter((row) => BigInt(row.balance) !== (expected.get(BigInt(row.id)) ?? 0n))
    .map((row) => ({ account: row.id, expected: String(expected.get(BigInt(row.id)) ?? 0n), stored: row.balance }));
}

async function transferCount(orgId: bigint): Promise<number> {
  const [row] = await queryRows<{ count: string }>(
    tdb.db.orm,
    sql`select count(*)::text as count from transfers where org_id = ${orgId.toString()}::bigint`,
  );
  return Number(row!.count);
}

describe.runIf(onPostgres)(`on Postgres, ${clientsCount} clients at once`, () => {
  // Contention is what finds races: the hot accounts get the most operations; over many accounts
  // fewer suffice to cross every path (grants, debits, reversals, replays) between accounts that
  // rarely collide.
  it.each([
    [8_000, 'many accounts (40 budgets, 400 wallets)', 40, 400],
    [20_000, '10 hot accounts (2 budgets, 8 wallets)', 2, 8],
  ])(
    '%i mixed grants, usage debits and reversals over %s end with no drift, no overdraft and no deadlock',
    async (operationsCount, _name, managersCount, peopleCount) => {
      const scenario = await setUp(managersCount, peopleCount);
      const deadlocksBefore = await deadlocks();
      await runConcurrently(scenario, realMix, operationsCount);
      expect(await drift(scenario)).toEqual([]);
      expect(await transferCount(scenario.orgId)).toBe(scenario.acknowledged.size);
      expect(await auditLedger(createTestCtx(tdb.db), { orgId: scenario.orgId })).toEqual([]);
      const [negative] = await queryRows<{ count: string }>(
        tdb.db.orm,
        sql`select count(*)::text as count from accounts
             where org_id = ${scenario.orgId.toString()}::bigint and balance < 0 and kind not in ('treasury', 'wallet')`,
      );
      expect(negative!.count).toBe('0');
      // pg_stat_database is updated when backends report; give the last ones a moment.
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(await deadlocks()).toBe(deadlocksBefore);
    },
    240_000,
  );

  it('the same checks catch a naive read-then-write debit run by the same clients (a test of the test)', async () => {
    const scenario = await setUp(2, 8);
    await runConcurrently(scenario, naiveDebit, 2_000);
    expect((await drift(scenario)).length).toBeGreaterThan(0);
    const violations = await auditLedger(createTestCtx(tdb.db), { orgId: scenario.orgId });
    expect(violations.map((violation) => violation.invariant)).toContain('balance_equals_transfers');
  }, 120_000);
});
