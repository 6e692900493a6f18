// Usage benchmark (not part of npm test): `npm run bench:usage` on Postgres (DATABASE_URL).
//
// 1. Ingestion: N new usage events through the real verb (ingestUsage: validation, user resolution,
//    one transaction per batch of 1000 calling allot_ingest_usage), then the same N replayed (all
//    duplicates, nothing may change), beside a COPY of N narrow rows (org id, event id, tokens) into
//    a table with a unique event id, measured in the same run on the same server.
// 2. Leaderboard: a quarter over 10 million usage events and 5,000 members (generate-usage.ts, shared
//    with bench:dashboard: daily rollups for 5,000 members × every day of the current quarter × 2
//    model/category pairs, with event counts summing to 10,000,000, and the week/month/quarter totals
//    aggregated from them as ingestion keeps them), then the real verb getLeaderboard is timed.
//
//    Each client count of --clients (default "1,2") ingests its own N new events, the batches shared
//    out among that many concurrent callers of ingestUsage on one organisation (batches of one
//    organisation serialise on its usage account inside the database; validation, hashing and the
//    reads overlap); then the first N are replayed at each client count.
//
// Options: --events N (default 200000), --clients 1,2, --leaderboard-runs N (default 300), --uniform,
// --skip-ingest, --skip-otlp, --skip-leaderboard, --keep (leave the database allot_bench_usage for inspection).
// BENCH_DATABASE names the scratch database instead of allot_bench_usage (two people benching on one server).
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { loadConfigFromProcessEnv } from '../../src/config/config';
import { createDatabase, queryRows } from '../../src/db/client';
import { applyMigrations } from '../../src/db/migrate';
import { systemClock } from '../../src/lib/clock';
import { type Ctx, operatorActor } from '../../src/lib/context';
import { currentPeriod } from '../../src/lib/periods.models';
import { createOrganisation } from '../../src/members/organisations.usecases';
import { getLeaderboard } from '../../src/usage/leaderboard.usecases';
import { ingestUsage } from '../../src/usage/usage.usecases';
import { fundedOrganisation, newEventBatches } from './bench-events';
import { floorBatch, floorTarget } from './floor';
import { generateUsage } from './generate-usage';
import { otlpRequests, runInterleaved } from './otlp-spans';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
const eventsTotal = option('events', 200_000);
const leaderboardRuns = option('leaderboard-runs', 300);
const clientCounts = (() => {
  const index = args.indexOf('--clients');
  return (index >= 0 ? args[index + 1]! : '1,2').split(',').map(Number);
})();
const batchSize = 1_000;
const ingestMembers = 1_000;
const boardMembers = 5_000;
const boardEvents = 10_000_000;

const parsed = loadConfigFromProcessEnv();
if (!parsed.ok || !parsed.config.DATABASE_URL) {
  console.error(
    'bench:usage needs DATABASE_URL pointing at a Postgres server (it creates and drops allot_bench_usage).',
  );
  process.exit(2);
}
const serverUrl = parsed.config.DATABASE_URL;
const benchDatabase = process.env.BENCH_DATABASE ?? 'allot_bench_usage';
if (!/^[a-z_][a-z0-9_]*$/.test(benchDatabase)) throw new Error(`BENCH_DATABASE: not a plain name: ${benchDatabase}`);
const benchUrl = (() => {
  const url = new URL(serverUrl);
  url.pathname = `/${benchDatabase}`;
  return url.toString();
})();

const rate = (count: number, ms: number) => Math.round((count / ms) * 1000);
const fmt = (n: number) => n.toLocaleString('en-US');

async function main() {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${benchDatabase} with (force)`);
  await admin.unsafe(`create database ${benchDatabase}`);
  await admin.end();
  const db = await createDatabase({ databaseUrl: benchUrl, poolMax: 4 });
  await applyMigrations(db, benchUrl);
  if (args.includes('--log-slow'))
    await db.orm.execute(sql.raw(`alter database ${benchDatabase} set log_min_duration_statement = 30`));
  const ctx: Ctx = { db, clock: systemClock };
  const raw = postgres(benchUrl, { max: 1, onnotice: () => {} });
  const [server] = await raw`select version() as v, current_setting('shared_buffers') as sb`;
  console.log(`server: ${String(server?.v).split(',')[0]}, shared_buffers ${server?.sb}`);
  try {
    if (!args.includes('--skip-ingest')) await benchIngest(ctx, raw);
    if (!args.includes('--skip-leaderboard')) await benchLeaderboard(ctx, raw);
  } finally {
    await raw.end();
    await db.close();
    if (!args.includes('--keep')) {
      const dropper = postgres(serverUrl, { max: 1, onnotice: () => {} });
      await dropper.unsafe(`drop database if exists ${benchDatabase} with (force)`);
      await dropper.end();
    }
  }
}

async function benchIngest(ctx: Ctx, raw: postgres.Sql) {
  const { orgId, emails } = await fundedOrganisation(ctx, {
    slug: 'bench-ingest',
    members: ingestMembers,
    email: (i) => `m${i}@bench.example`,
    name: (i) => `Member ${i}`,
  });
  // Events as they arrive from JSON.parse (bench-events.ts): skewed members, or with --uniform evenly.
  const uniform = args.includes('--uniform');
  const now = Date.now();
  const makeBatches = (set: number) =>
    newEventBatches({ emails, count: eventsTotal / batchSize, batchSize, now, set, uniform });
  const sets = clientCounts.map((_, set) => makeBatches(set));
  const batches = sets[0]!;
  // Runs the batches with `clients` concurrent callers, each taking the next batch when it is done.
  const runBatches = async (list: Record<string, unknown>[][], clients: number) => {
    let next = 0;
    let accepted = 0;
    let duplicates = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < list.length) {
          const batch = list[next++]!;
          const result = await ingestUsage(ctx, { orgId, events: batch });
          if (!result.ok) throw new Error(result.failure);
          accepted += result.value.accepted;
          duplicates += result.value.duplicate;
        }
      }),
    );
    return { ms: performance.now() - started, accepted, duplicates };
  };

  const counts = async () => {
    const [row] = await queryRows<Record<string, string>>(
      ctx.db.orm,
      sql`select (select count(*) from usage_events)::text as events, (select count(*) from transfers)::text as transfers,
                 (select sum(abs(balance)) from accounts)::text as balances, (select sum(tokens) from usage_daily_rollups)::text as rollups,
                 (select sum(value) from usage_period_totals)::text as periods`,
    );
    return row!;
  };
  // Rows written since a point in time: any row version created after it carries a newer xmin.
  const xidNow = async () => {
    const [row] = await raw`select (pg_snapshot_xmax(pg_current_snapshot())::text::bigint % 4294967296) as xid`;
    return String(row?.xid);
  };
  const rowsWrittenSince = async (xid: string) => {
    const [row] = await raw`
      select (select count(*) from usage_events where xmin::text::bigint >= ${xid}::bigint)
           + (select count(*) from transfers where xmin::text::bigint >= ${xid}::bigint)
           + (select count(*) from accounts where xmin::text::bigint >= ${xid}::bigint)
           + (select count(*) from usage_daily_rollups where xmin::text::bigint >= ${xid}::bigint)
           + (select count(*) from usage_period_totals where xmin::text::bigint >= ${xid}::bigint)
           + (select count(*) from usage_batches where xmin::text::bigint >= ${xid}::bigint) as n`;
    return Number(row?.n);
  };

  // Warm-up batch (not timed, its own ids), so the first timed batch does not pay for plan caching.
  await ingestUsage(ctx, {
    orgId,
    events: batches[0]!.map((event) => ({ ...event, id: `warm-${event.id}` })),
  });

  const newRuns: { clients: number; ms: number }[] = [];
  for (const [set, clients] of clientCounts.entries()) {
    const run = await runBatches(sets[set]!, clients);
    if (run.accepted !== eventsTotal) throw new Error(`expected ${eventsTotal} accepted, got ${run.accepted}`);
    newRuns.push({ clients, ms: run.ms });
  }
  // The same events as OTLP spans (their own ids), serialized before the clock starts, alternating with
  // as many new events (another set) so both paths meet the same tables.
  let otlpRun: Awaited<ReturnType<typeof runInterleaved>> | undefined;
  if (!args.includes('--skip-otlp')) {
    // Event ids as random as trace and span ids (a gateway's UUIDs are too): random keys cost the unique
    // indexes more than the sequential ids above, and that cost is no part of the protocol.
    const randomIds = makeBatches(clientCounts.length).map((batch) =>
      batch.map((event) => {
        const digest = createHash('sha256').update(String(event.id)).digest('hex');
        return { ...event, id: `${digest.slice(0, 32)}-${digest.slice(32, 48)}` };
      }),
    );
    otlpRun = await runInterleaved(ctx, orgId, randomIds, await otlpRequests(batches));
    if (otlpRun.spans !== eventsTotal || otlpRun.events !== eventsTotal) {
      throw new Error(`OTLP: expected ${eventsTotal} accepted each way, got ${otlpRun.events} and ${otlpRun.spans}`);
    }
  }
  const before = await counts();
  const replayXid = await xidNow();

  const replayRuns: { clients: number; ms: number }[] = [];
  for (const clients of clientCounts) {
    const run = await runBatches(batches, clients);
    if (run.duplicates !== eventsTotal) throw new Error(`expected ${eventsTotal} duplicates, got ${run.duplicates}`);
    replayRuns.push({ clients, ms: run.ms });
  }
  // The same events resent in other batches (each made of the second half of one batch and the first
  // half of the next): no batch digest matches, so every event is judged by the per-event path.
  const rebatched = batches
    .slice(0, -1)
    .map((batch, b) => [...batch.slice(batchSize / 2), ...batches[b + 1]!.slice(0, batchSize / 2)]);
  const rebatchedRun = await runBatches(rebatched, 1);
  if (rebatchedRun.duplicates !== rebatched.length * batchSize)
    throw new Error('rebatched replay: expected duplicates only');
  const after = await counts();
  const rowsChanged = await rowsWrittenSince(replayXid);
  const unchanged = JSON.stringify(before) === JSON.stringify(after);

  // Floor: only the writes the issue requires for each new batch, lot draws included, as bare SQL (floor.ts), rolled back.
  const target = await floorTarget(raw, orgId);
  const floorBatches = batches.slice(0, Math.min(40, batches.length));
  let floorMs = 0;
  for (const [b, batch] of floorBatches.entries()) floorMs += await floorBatch(raw, target, batch, `floor-${b}`);
  const floorRate = rate(floorBatches.length * batchSize, floorMs);

  // Reference: COPY of the same number of narrow rows into a table with a unique event id.
  await raw`create table copy_reference (org_id bigint not null, event_id text not null, tokens bigint not null,
                                         primary key (org_id, event_id))`;
  const lines = batches
    .flat()
    .map((event) => `1\t${event.id}\t${Number(event.input_tokens) + Number(event.output_tokens)}\n`);
  const started = performance.now();
  const writable = await raw`copy copy_reference (org_id, event_id, tokens) from stdin`.writable();
  await pipeline(
    (async function* () {
      for (let i = 0; i < lines.length; i += 5_000) yield lines.slice(i, i + 5_000).join('');
    })(),
    writable as unknown as Writable,
  );
  const copyMs = performance.now() - started;

  const copyRate = rate(eventsTotal, copyMs);
  const distinct = batches.map((batch) => new Set(batch.map((event) => event.user)).size);
  console.log(
    `\ningestion of ${fmt(eventsTotal)} events per run in batches of ${batchSize}, ${ingestMembers} members (${uniform ? 'uniform' : 'skewed'}, ${Math.round(distinct.reduce((a, b) => a + b, 0) / distinct.length)} distinct per batch):`,
  );
  console.log(`  COPY reference                  ${fmt(copyRate).padStart(9)} rows/s   (${copyMs.toFixed(0)} ms)`);
  for (const run of newRuns) {
    const runRate = rate(eventsTotal, run.ms);
    console.log(
      `  new events, ${run.clients} client${run.clients === 1 ? ' ' : 's'}          ${fmt(runRate).padStart(9)} events/s (${run.ms.toFixed(0)} ms)  = ${(runRate / floorRate).toFixed(2)} × the floor (target ≥ 0.5), ${(runRate / copyRate).toFixed(2)} × COPY`,
    );
  }
  if (otlpRun) {
    const eventsRate = rate(eventsTotal, otlpRun.eventsMs);
    const otlpRate = rate(eventsTotal, otlpRun.otlpMs);
    console.log(
      `  alternating, 1 client: events  ${fmt(eventsRate).padStart(9)} events/s (${otlpRun.eventsMs.toFixed(0)} ms)  as POST /v1/usage ingests them, random ids`,
    );
    console.log(
      `  alternating, 1 client: OTLP    ${fmt(otlpRate).padStart(9)} events/s (${otlpRun.otlpMs.toFixed(0)} ms)  protobuf spans as POST /v1/traces = ${(otlpRate / eventsRate).toFixed(2)} × events (target ≥ 0.8)`,
    );
  }
  console.log(
    `  floor: the required writes alone ${fmt(floorRate).padStart(9)} events/s (${floorBatches.length} batches, bare SQL, one lot drawn per member, rolled back)  = ${(floorRate / copyRate).toFixed(2)} × COPY`,
  );
  for (const run of replayRuns) {
    const runRate = rate(eventsTotal, run.ms);
    console.log(
      `  replayed batches, ${run.clients} client${run.clients === 1 ? ' ' : 's'}    ${fmt(runRate).padStart(9)} events/s (${run.ms.toFixed(0)} ms)  = ${(runRate / copyRate).toFixed(2)} × COPY (target ≥ 0.4)`,
    );
  }
  const rebatchedRate = rate(rebatched.length * batchSize, rebatchedRun.ms);
  console.log(
    `  same events in other batches, 1 client ${fmt(rebatchedRate).padStart(9)} events/s (${rebatchedRun.ms.toFixed(0)} ms)  = ${(rebatchedRate / copyRate).toFixed(2)} × COPY (per-event path: no batch digest matches)`,
  );
  console.log(
    `  replays: ${fmt(eventsTotal * replayRuns.length + rebatched.length * batchSize)} duplicates, ${rowsChanged} rows written (row versions newer than the first replay's start), counts and sums unchanged: ${unchanged}`,
  );
}

async function benchLeaderboard(ctx: Ctx, raw: postgres.Sql) {
  const created = await createOrganisation(ctx, { slug: 'bench-board', actor: operatorActor });
  if (!created.ok) throw new Error(created.failure);
  const orgId = created.value.id;
  const quarter = currentPeriod('quarter', ctx.clock.now(), 'UTC');
  let started = performance.now();
  const generated = await generateUsage(raw, {
    orgId,
    members: boardMembers,
    events: boardEvents,
    start: quarter.start,
    end: quarter.end,
  });
  const generateMs = performance.now() - started;
  console.log(
    `\nleaderboard: ${fmt(boardMembers)} members, ${fmt(generated.events)} events in ${fmt(generated.rows)} daily rollup rows (${quarter.start} to ${quarter.end}), generated in ${(generateMs / 1000).toFixed(1)} s`,
  );
  const [member] = await raw`select min(id)::text as id from members where org_id = ${orgId.toString()}::bigint`;
  const firstId = BigInt(String(member?.id));
  // The quarter sums three stored months per member; the week sums seven days of daily rollups.
  for (const window of ['quarter', 'week'] as const) {
    for (let i = 0; i < 20; i++) await getLeaderboard(ctx, { orgId, askerId: firstId, window });
    const times: number[] = [];
    for (let i = 0; i < leaderboardRuns; i++) {
      const asker = firstId + BigInt((i * 997) % boardMembers);
      started = performance.now();
      const board = await getLeaderboard(ctx, { orgId, askerId: asker, window });
      times.push(performance.now() - started);
      if (!board.ok || board.value.entries.length !== 10 || board.value.ranked !== boardMembers) {
        throw new Error(`unexpected leaderboard ${JSON.stringify(board.ok ? board.value.ranked : board)}`);
      }
    }
    times.sort((a, b) => a - b);
    const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
    console.log(
      `  getLeaderboard(${window}), ${leaderboardRuns} runs: p50 ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, max ${at(1).toFixed(1)} ms (target p95 ≤ 50 ms)`,
    );
  }
  // Reference in the same run: summing the quarter's daily rollups per member instead.
  started = performance.now();
  await raw`select member_id, sum(value) from usage_daily_rollups
             where org_id = ${orgId.toString()}::bigint and day >= ${quarter.start}::date and day < ${quarter.end}::date
             group by member_id order by 2 desc limit 10`;
  console.log(
    `  reference: summing the quarter's daily rollups per member instead takes ${(performance.now() - started).toFixed(0)} ms`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
