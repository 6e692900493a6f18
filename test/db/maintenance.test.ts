import { sql } from 'drizzle-orm';
import { afterEach, expect, it } from 'vitest';
import { createMaintenanceModule } from '../../src/app/maintenance.module';
import type { AppDeps } from '../../src/app/module';
import { queryRows } from '../../src/db/client';
import { analyzeGrownTables, vacuumAgingTables } from '../../src/db/maintenance';
import { createLogger } from '../../src/lib/logger';
import { createTestCtx, createTestDatabase, onPostgres, type TestDatabase } from '../support/db';
import { makeMember, makeOrganisation } from '../support/fixtures';

let tdb: TestDatabase | undefined;
afterEach(async () => {
  await tdb?.close();
  tdb = undefined;
});

/** What the planner knows of a table: rows and pages at its last ANALYZE (-1 rows: never analysed). */
async function plannerSize(tdb: TestDatabase, table: string) {
  const [row] = await queryRows<{ rows: number; pages: number }>(
    tdb.db.orm,
    sql`select reltuples::int as rows, relpages::int as pages from pg_class
         where relname = ${table} and relnamespace = 'public'::regnamespace`,
  );
  return row!;
}

it('tables never analysed are analysed, then again only once they have grown by a tenth and 8 pages', async () => {
  tdb = await createTestDatabase({ poolMax: 1 });
  const ctx = createTestCtx(tdb.db);
  // A migrated database holds tables that were never analysed.
  expect((await plannerSize(tdb, 'members')).rows).toBe(-1);
  const first = await analyzeGrownTables(tdb.db.orm);
  expect(first).toContain('members');
  expect(first).toContain('reservations');
  expect(await analyzeGrownTables(tdb.db.orm)).toEqual([]);

  // A few rows: not enough growth to plan differently.
  const org = await makeOrganisation(ctx);
  for (let index = 0; index < 5; index++) await makeMember(ctx, org.id, { name: `Few ${index}` });
  expect(await analyzeGrownTables(tdb.db.orm)).toEqual([]);

  // Many pages more: members is analysed again, and the planner knows its size.
  await tdb.db.orm.execute(
    sql`insert into members (org_id, display_name, email)
        select ${org.id.toString()}::bigint, 'Many ' || n, 'many' || n || '@acme.test' from generate_series(1, 3000) n`,
  );
  expect(await analyzeGrownTables(tdb.db.orm)).toContain('members');
  expect((await plannerSize(tdb, 'members')).rows).toBeGreaterThanOrEqual(3000);
  expect(await analyzeGrownTables(tdb.db.orm)).toEqual([]);
});

// PGlite only: on a PostgreSQL server transaction ids are the whole cluster's, which other test files
// use at the same time, and its autovacuum freezes there.
it.runIf(!onPostgres)('tables whose rows fall behind in transaction ids are frozen, and only those', async () => {
  tdb = await createTestDatabase({ poolMax: 1 });
  const ctx = createTestCtx(tdb.db);
  const age = async (table: string) => {
    const [row] = await queryRows<{ age: number }>(
      tdb!.db.orm,
      sql`select age(relfrozenxid)::int as age from pg_class
           where relname = ${table} and relnamespace = 'public'::regnamespace`,
    );
    return row!.age;
  };
  await vacuumAgingTables(tdb.db.orm, 0);
  const org = await makeOrganisation(ctx);
  for (let index = 0; index < 5; index++) await makeMember(ctx, org.id, { name: `Aging ${index}` });
  // Every table is now at least as old as the transactions since; none is past a billion.
  expect(await age('members')).toBeGreaterThanOrEqual(5);
  expect(await vacuumAgingTables(tdb.db.orm, 1_000_000_000)).toEqual([]);
  const frozen = await vacuumAgingTables(tdb.db.orm, 4);
  expect(frozen).toContain('members');
  expect(await age('members')).toBeLessThan(4);
});

it('the maintenance module analyses at start, then again as tables grow, one pass at a time, until stopped', async () => {
  tdb = await createTestDatabase({ poolMax: 1 });
  const ctx = createTestCtx(tdb.db);
  const deps = { ctx, logger: createLogger('silent') } as unknown as AppDeps;
  const module = createMaintenanceModule(deps, 50);
  await module.start!();
  const deadline = Date.now() + 10_000;
  const reached = async (table: string, rows: number) => {
    while ((await plannerSize(tdb!, table)).rows < rows && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return (await plannerSize(tdb!, table)).rows;
  };
  // The first pass runs in the background as the server starts.
  expect(await reached('reservations', 0)).toBe(0);
  const org = await makeOrganisation(ctx);
  await tdb.db.orm.execute(
    sql`insert into members (org_id, display_name, email)
        select ${org.id.toString()}::bigint, 'Grown ' || n, 'grown' || n || '@acme.test' from generate_series(1, 3000) n`,
  );
  expect(await reached('members', 3000)).toBeGreaterThanOrEqual(3000);
  await module.stop!();
});
