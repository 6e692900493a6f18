// Where the time of one client's ingestion goes (not part of npm test): `tsx bench/usage/ingest-profile.ts`
// with DATABASE_URL pointing at a Postgres server on this machine.
//
// Creates a scratch database `allot_bench_usage_profile` (dropped afterwards unless --keep), 1,000
// funded members, and new batches of 1,000 events shaped as bench:usage makes them (skewed members,
// 6 models, 4 categories, the last 6 hours). Then, batch after batch on one client, ingestUsage and
// the floor of bench:usage (floor.ts) alternate, so both meet the same machine at the same moment,
// and each is measured three ways: wall time, CPU time of this Node process, and CPU time of every
// server process of the database (read from /proc, so only for a server on this machine). CPU time
// moves far less than wall time when the machine is busy, which makes it the fairer way to compare
// two versions of the code on a shared machine.
//
// Then the same batches are resent, one by one, and measured the same three ways (replay: every event
// a duplicate, answered from the batch digest).
//
// Options: --batches N (default 60), --profile FILE (a V8 CPU profile of the measured loop, for
// chrome://inspect or speedscope: ingestUsage and, under floorBatch, the floor's client side),
// --replay-profile FILE (the same for the replays), --keep. BENCH_DATABASE names the scratch database
// instead (two people profiling on one server).
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { performance } from 'node:perf_hooks';
import postgres from 'postgres';
import { loadConfigFromProcessEnv } from '../../src/config/config';
import { createDatabase } from '../../src/db/client';
import { applyMigrations } from '../../src/db/migrate';
import { systemClock } from '../../src/lib/clock';
import type { Ctx } from '../../src/lib/context';
import { ingestUsage } from '../../src/usage/usage.usecases';
import { fundedOrganisation, newEventBatches } from './bench-events';
import { floorBatch, floorTarget } from './floor';

const args = process.argv.slice(2);
const argument = (name: string) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
};
const batchesTotal = Number(argument('batches') ?? 60);
const warmUpBatches = 5;
const parsed = loadConfigFromProcessEnv();
if (!parsed.ok || !parsed.config.DATABASE_URL) {
  console.error('ingest-profile needs DATABASE_URL pointing at a Postgres server on this machine.');
  process.exit(2);
}
const serverUrl = parsed.config.DATABASE_URL;
const scratch = process.env.BENCH_DATABASE ?? 'allot_bench_usage_profile';
if (!/^[a-z_][a-z0-9_]*$/.test(scratch)) throw new Error(`BENCH_DATABASE: not a plain name: ${scratch}`);
const url = (() => {
  const target = new URL(serverUrl);
  target.pathname = `/${scratch}`;
  return target.toString();
})();

/** The organisation bench:usage ingests into: 1,000 members, each funded (bench-events.ts). */
function setUp(ctx: Ctx): Promise<{ orgId: bigint; emails: string[] }> {
  return fundedOrganisation(ctx, { slug: 'bench-profile', members: 1_000, email: (i) => `m${i}@bench.example` });
}

/** Milliseconds of CPU used so far by the database's server processes (user + system, from /proc). */
async function serverCpuMs(raw: postgres.Sql): Promise<number> {
  const pids = await raw`select pid from pg_stat_activity where datname = current_database()`;
  let ticks = 0;
  for (const { pid } of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended between the two reads.
    }
  }
  return ticks * 10;
}

async function main() {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${scratch} with (force)`);
  await admin.unsafe(`create database ${scratch}`);
  const db = await createDatabase({ databaseUrl: url, poolMax: 4 });
  await applyMigrations(db, url);
  const ctx: Ctx = { db, clock: systemClock };
  const raw = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const { orgId, emails } = await setUp(ctx);
    // Batches of new events as bench:usage makes them (its default, skewed members).
    const batches = newEventBatches({ emails, count: warmUpBatches + batchesTotal, batchSize: 1_000, now: Date.now() });
    for (const batch of batches.slice(0, warmUpBatches)) await ingestUsage(ctx, { orgId, events: batch });
    const target = await floorTarget(raw, orgId);
    const phases = {
      ingestUsage: { wall: 0, node: 0, server: 0 },
      floor: { wall: 0, node: 0, server: 0 },
      replay: { wall: 0, node: 0, server: 0 },
    };
    const measured = async (phase: keyof typeof phases, work: () => Promise<unknown>) => {
      const server = await serverCpuMs(raw);
      const node = process.cpuUsage();
      const started = performance.now();
      await work();
      phases[phase].wall += performance.now() - started;
      const used = process.cpuUsage(node);
      phases[phase].node += (used.user + used.system) / 1000;
      phases[phase].server += (await serverCpuMs(raw)) - server;
    };
    const session = new Session();
    session.connect();
    const startProfile = async (file: string | undefined) => {
      if (file)
        await new Promise((resolve) => session.post('Profiler.enable', () => session.post('Profiler.start', resolve)));
    };
    const stopProfile = async (file: string | undefined) => {
      if (!file) return;
      await new Promise<void>((resolve) =>
        session.post('Profiler.stop', (_error, result) => {
          writeFileSync(file, JSON.stringify(result.profile));
          resolve();
        }),
      );
    };
    const profileFile = argument('profile');
    await startProfile(profileFile);
    for (const [b, batch] of batches.slice(warmUpBatches).entries()) {
      await measured('ingestUsage', async () => {
        const result = await ingestUsage(ctx, { orgId, events: batch });
        if (!result.ok || result.value.accepted !== batch.length) throw new Error('a batch was not accepted whole');
      });
      // The profile covers the whole loop; the floor's client side sits under floorBatch in it.
      await measured('floor', () => floorBatch(raw, target, batch, `floor-${b}`));
    }
    await stopProfile(profileFile);
    const replayFile = argument('replay-profile');
    await startProfile(replayFile);
    for (const batch of batches.slice(warmUpBatches)) {
      await measured('replay', async () => {
        const result = await ingestUsage(ctx, { orgId, events: batch });
        if (!result.ok || result.value.duplicate !== batch.length) throw new Error('a replay was not all duplicates');
      });
    }
    await stopProfile(replayFile);
    session.disconnect();
    const per = (ms: number) => `${(ms / batchesTotal).toFixed(1).padStart(6)} ms`;
    const floor = phases.floor;
    console.log(
      `${batchesTotal} batches of 1,000 new events, one client, per batch (replay: the same batches resent):`,
    );
    for (const [name, phase] of Object.entries(phases)) {
      console.log(
        `  ${name.padEnd(12)} wall ${per(phase.wall)} (floor ÷ this ${(floor.wall / phase.wall).toFixed(2)})` +
          `   CPU: Node ${per(phase.node)}, server ${per(phase.server)}, together ${per(phase.node + phase.server)}` +
          ` (floor ÷ this ${((floor.node + floor.server) / (phase.node + phase.server)).toFixed(2)})`,
      );
    }
  } finally {
    await raw.end();
    await db.close();
    if (!args.includes('--keep')) await admin.unsafe(`drop database if exists ${scratch} with (force)`);
    await admin.end();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
