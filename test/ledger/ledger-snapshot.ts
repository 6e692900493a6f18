import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { type Orm, queryRows } from '../../src/db/client';

/** Everything a refused operation must leave untouched: every balance, and the counts of transfers and audit rows. */
export async function ledgerSnapshot(orm: Orm, orgId: bigint) {
  const balances = await queryRows<{ id: string; balance: string }>(
    orm,
    sql`select id::text, balance::text from accounts where org_id = ${orgId.toString()}::bigint order by id`,
  );
  const [counts] = await queryRows<{ transfers: string; audits: string }>(
    orm,
    sql`select (select count(*) from transfers where org_id = ${orgId.toString()}::bigint)::text as transfers,
               (select count(*) from audit_log where org_id = ${orgId.toString()}::bigint)::text as audits`,
  );
  return { balances, counts };
}

/** Runs `work` and asserts it changed nothing in the organisation's ledger, returning its result. */
export async function expectNothingChanged<T>(orm: Orm, orgId: bigint, work: () => Promise<T>): Promise<T> {
  const before = await ledgerSnapshot(orm, orgId);
  const result = await work();
  expect(await ledgerSnapshot(orm, orgId)).toEqual(before);
  return result;
}

export async function transferCount(orm: Orm, orgId: bigint): Promise<number> {
  const [row] = await queryRows<{ count: string }>(
    orm,
    sql`select count(*)::text as count from transfers where org_id = ${orgId.toString()}::bigint`,
  );
  return Number(row?.count ?? 0);
}
