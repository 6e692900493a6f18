import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { auditLedger } from '../../src/ledger/ledger.usecases';
import { sqlStateOf } from '../../src/lib/db-errors';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeTeam } from '../support/fixtures';
import { ledgerSnapshot } from './ledger-snapshot';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => tdb.close());

it.each([
  ['UPDATE', sql`update transfers set amount = amount + 1`],
  ['DELETE', sql`delete from transfers`],
  ['TRUNCATE', sql`truncate transfers cascade`],
])('the database refuses %s of a transfer, even from a superuser session', async (_verb, statement) => {
  const ctx = createTestCtx(tdb.db);
  const { org } = await makeTeam(ctx, 5_000n);
  const before = await ledgerSnapshot(tdb.db.orm, org.id);
  const error = await tdb.db.orm.execute(statement).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeDefined();
  expect(sqlStateOf(error)).toBe('23000');
  expect(String((error as { cause?: unknown }).cause ?? error)).toMatch(/append-only/);
  expect(await ledgerSnapshot(tdb.db.orm, org.id)).toEqual(before);
  expect(await auditLedger(ctx)).toEqual([]);
});

it.each([
  ['a zero amount', sql`0`, sql`'grant'`],
  ['an amount above 1e12', sql`1000000000001`, sql`'grant'`],
  ['an unknown code', sql`5`, sql`'gift'`],
])('the database refuses a transfer with %s written around the verbs', async (_name, amount, code) => {
  const ctx = createTestCtx(tdb.db);
  const { org } = await makeTeam(ctx, 0n);
  const before = await ledgerSnapshot(tdb.db.orm, org.id);
  const orgId = org.id.toString();
  const error = await tdb.db.orm
    .execute(
      sql`insert into transfers (org_id, operation_key, leg, request_hash, debit_account_id, credit_account_id, amount, code, platform)
          select ${orgId}::bigint, 'raw', 1, 'h', t.id, u.id, ${amount}, ${code}, 'cli'
            from accounts t, accounts u
           where t.org_id = ${orgId}::bigint and t.kind = 'treasury' and u.org_id = ${orgId}::bigint and u.kind = 'usage'`,
    )
    .then(
      () => undefined,
      (caught: unknown) => caught,
    );
  expect(sqlStateOf(error)).toBe('23514');
  expect(await ledgerSnapshot(tdb.db.orm, org.id)).toEqual(before);
});

it('the database refuses a budget below zero even when the balance is written directly', async () => {
  const ctx = createTestCtx(tdb.db);
  const { org } = await makeTeam(ctx, 0n);
  const error = await tdb.db.orm
    .execute(sql`update accounts set balance = -1 where org_id = ${org.id.toString()}::bigint and kind = 'budget'`)
    .then(
      () => undefined,
      (caught: unknown) => caught,
    );
  expect(sqlStateOf(error)).toBe('23514');
});

it.each([
  ['DELETE', (orgId: string) => sql`delete from accounts where org_id = ${orgId}::bigint and kind = 'wallet'`],
  ['TRUNCATE', () => sql`truncate accounts cascade`],
])('the database refuses %s of an account, which transfers point at', async (_verb, statement) => {
  const ctx = createTestCtx(tdb.db);
  const { org } = await makeTeam(ctx, 5_000n);
  const before = await ledgerSnapshot(tdb.db.orm, org.id);
  const error = await tdb.db.orm.execute(statement(org.id.toString())).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(sqlStateOf(error)).toBe('23000');
  expect(String((error as { cause?: unknown }).cause ?? error)).toMatch(/never removed/);
  expect(await ledgerSnapshot(tdb.db.orm, org.id)).toEqual(before);
});

it("the audit names a transfer written around the verbs that moves tokens to another organisation's account", async () => {
  // Its own database: the stray transfer cannot be removed, and the other tests audit everything.
  const own = await createTestDatabase();
  try {
    const ctx = createTestCtx(own.db);
    const { org } = await makeTeam(ctx, 5_000n);
    const { org: other } = await makeTeam(ctx, 5_000n);
    expect(await auditLedger(ctx)).toEqual([]);
    await own.db.orm.execute(
      sql`insert into transfers (org_id, operation_key, leg, request_hash, debit_account_id, credit_account_id, amount, code, platform)
          select ${org.id.toString()}::bigint, 'stray', 1, 'h', t.id, w.id, 5, 'grant', 'cli'
            from accounts t, accounts w
           where t.org_id = ${org.id.toString()}::bigint and t.kind = 'treasury'
             and w.org_id = ${other.id.toString()}::bigint and w.kind = 'wallet'
           limit 1`,
    );
    const violations = await auditLedger(ctx);
    expect(violations).toContainEqual(
      expect.objectContaining({
        orgId: org.id,
        invariant: 'transfer_accounts_exist',
        detail: expect.stringMatching(
          /^transfer \d+ moves from account \d+ to \d+, not both accounts of this organisation$/,
        ),
      }),
    );
    expect(violations.filter((violation) => violation.orgId === other.id)).toEqual([]);
  } finally {
    await own.close();
  }
});
