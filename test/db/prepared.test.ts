import { sql } from 'drizzle-orm';
import { afterEach, expect, it } from 'vitest';
import { queryRows, queryRowsPrepared } from '../../src/db/client';
import { createTestDatabase, onPostgres, type TestDatabase } from '../support/db';

let tdb: TestDatabase | undefined;
afterEach(async () => {
  await tdb?.close();
  tdb = undefined;
});

it('a hot statement gives the same rows as an ordinary one, with its parameters, on either driver', async () => {
  tdb = await createTestDatabase({ poolMax: 1 });
  const query = (n: number) => sql`select ${n}::int + 1 as next, ${`n${n}`}::text as label`;
  expect(await queryRowsPrepared(tdb.db.orm, query(41))).toEqual(await queryRows(tdb.db.orm, query(41)));
  expect(await queryRowsPrepared(tdb.db.orm, query(1))).toEqual([{ next: 2, label: 'n1' }]);
});

it.runIf(onPostgres)(
  'on PostgreSQL a hot statement is prepared once per connection and reused, an ordinary one never',
  async () => {
    tdb = await createTestDatabase({ poolMax: 1 });
    const hot = (n: number) => sql`select ${n}::int as hot_value`;
    for (let n = 0; n < 3; n++) await queryRowsPrepared(tdb.db.orm, hot(n));
    await queryRows(tdb.db.orm, sql`select ${7}::int as cold_value`);
    // postgres.js prepares its own query of array types when it connects: only ours are looked at.
    const prepared = await queryRows<{ statement: string; runs: number }>(
      tdb.db.orm,
      sql`select statement, (generic_plans + custom_plans)::int as runs from pg_prepared_statements
           where statement like '%\_value' order by prepare_time`,
    );
    expect(prepared).toEqual([{ statement: 'select $1::int as hot_value', runs: 3 }]);
  },
);
