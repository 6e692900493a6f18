import { sql } from 'drizzle-orm';
import { type Orm, queryRows } from './database';

// What autovacuum does on PostgreSQL (PostgreSQL docs, "Routine Vacuuming"), for PGlite, which runs
// PostgreSQL in single-user mode where no autovacuum runs (src/app/maintenance.module.ts runs these
// on embedded PGlite only):
// - Planner statistics. Autovacuum ANALYZEs a table once enough of it has changed. Without it PGlite's
//   tables are never analysed, and its one session keeps, for the life of the process, generic plans
//   made while the tables were new and nearly empty: with no statistics the planner cannot tell an
//   index probe from a scan of the organisation's history, and a settle in an organisation with 1,000
//   earlier reservations read 9,276 index entries of `reservations` to settle four
//   (test/reservations/reservation-batches.test.ts). ANALYZE replaces the statistics and invalidates
//   the plans made on the old ones.
// - Freezing. Autovacuum freezes a table's rows before their transaction ids fall 2^31 behind, past
//   which the database stops taking writes ("Preventing Transaction ID Wraparound Failures").
// Dead rows are reclaimed only when a table is frozen (VACUUM (FREEZE) is a VACUUM too); in between,
// pages are pruned as they are read.

/** Pages a table may grow by, beyond its growth fraction, before it is analysed again. */
export const analyzeGrowthPagesMin = 8;
/** How much a table may grow, as a fraction of its size when last analysed, before it is analysed again. */
export const analyzeGrowthFraction = 0.1;
/** How often the running server looks for tables to analyse on PGlite (autovacuum_naptime's default). */
export const analyzeIntervalMs = 60_000;

/**
 * ANALYZEs each table of the `public` schema that was never analysed, or has grown since its last
 * ANALYZE by more than analyzeGrowthFraction of its size then plus analyzeGrowthPagesMin pages
 * (autovacuum counts changed rows, which PGlite does not report; growth in pages is read from the
 * files, the same on every driver). Returns the tables analysed, in name order. Each ANALYZE reads a
 * bounded sample (300 × default_statistics_target rows), so its cost stops growing with the table:
 * milliseconds for small tables, up to a fraction of a second for large ones. Errors are the
 * database's (the caller logs and tries again later).
 */
export async function analyzeGrownTables(orm: Orm): Promise<string[]> {
  const due = await queryRows<{ name: string }>(
    orm,
    sql`select c.relname as name
          from pg_class c
         where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
           and (c.reltuples < 0
                or pg_relation_size(c.oid) / current_setting('block_size')::int
                   > c.relpages * (1 + ${analyzeGrowthFraction}::float8) + ${analyzeGrowthPagesMin}::int)
         order by c.relname`,
  );
  for (const { name } of due) await orm.execute(sql`analyze ${sql.identifier(name)}`);
  return due.map((row) => row.name);
}

/**
 * Transaction ids a table's oldest unfrozen row may be behind before vacuumAgingTables freezes it:
 * PostgreSQL's vacuum_freeze_table_age default. (A database whose oldest row falls 2^31 − 3 million
 * transactions behind stops taking writes; autovacuum freezes from 200 million, autovacuum_freeze_max_age.)
 */
export const freezeAgeMax = 150_000_000;

/**
 * VACUUM (FREEZE)s each table of the `public` schema whose oldest unfrozen transaction id is more than
 * `ageMax` transactions old (PostgreSQL docs, "Preventing Transaction ID Wraparound Failures"), as
 * autovacuum would on PostgreSQL; PGlite has no autovacuum. Returns the tables vacuumed, in name order.
 * A table is frozen about once per `ageMax` transactions; the pass holds PGlite's one session while
 * it runs (seconds for a large table).
 */
export async function vacuumAgingTables(orm: Orm, ageMax = freezeAgeMax): Promise<string[]> {
  const due = await queryRows<{ name: string }>(
    orm,
    sql`select c.relname as name from pg_class c
         where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' and age(c.relfrozenxid) > ${ageMax}::int
         order by c.relname`,
  );
  for (const { name } of due) await orm.execute(sql`vacuum (freeze) ${sql.identifier(name)}`);
  return due.map((row) => row.name);
}
