// Reservations: reserve + settle pairs per second through the verbs on the Postgres server at 1 and 8
// connections, batched (the app's batcher: reserves and settles that arrive together share one
// transaction) and one at a time, beside the same work from pgbench's C client (the two SQL calls one
// at a time, and N pairs per transaction through allot_reservation_batch) and pgbench's TPC-B, all
// run by this script on the same server in the same run, in interleaved rounds (medians reported).
// Then the HTTP API of a running Allot (`node dist/main.js`) driven open loop with the app's own
// gateway client, reporting reserve latency, overshoot (wallets below zero; every call settles exactly
// what it held, so any is overshoot) and the audit; and beside it, at the same request rate, the
// latency floor of the machine: a bare server committing one row per request (commit-floor.server.ts).
//
//   npm run bench:reservations            # DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/test
//   BENCH_SECONDS=10 BENCH_RATE=500 BENCH_ROUNDS=3 npm run bench:reservations
//   BENCH_ONLY=http npm run bench:reservations    # the HTTP open loop alone (BENCH_SERVER_ARGS='--cpu-prof --cpu-prof-dir=bench/.out' to profile the server)
//
// It creates (and drops first) the databases allot_bench_resv and allot_bench_resv_pgbench.
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { createDatabase } from '../../src/db/client';
import { applyMigrations } from '../../src/db/migrate';
import { AllotClient, InsufficientTokensError } from '../../src/gateway/allot-client';
import { auditLedger, grantTokens } from '../../src/ledger/ledger.usecases';
import { systemClock } from '../../src/lib/clock';
import { type Ctx, operatorActor } from '../../src/lib/context';
import { addMember } from '../../src/members/members.usecases';
import { createOrganisation } from '../../src/members/organisations.usecases';
import { configureReservationBatcher } from '../../src/reservations/reservations.batcher';
import { reserveTokens, settleReservation } from '../../src/reservations/reservations.usecases';
import { createApiKey } from '../../src/usage/api-keys.usecases';

const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const phaseSeconds = Number(process.env.BENCH_SECONDS ?? 5);
const openLoopRate = Number(process.env.BENCH_RATE ?? 500);
/** Seconds of the same open loop before the measured one (the server's warm-up), reported apart. */
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 10);
/** Rounds of every throughput phase, interleaved, reporting the median: load that drifts hits every side. */
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
/** `http`: only the HTTP open loop (no verbs, no pgbench). */
const only = process.env.BENCH_ONLY;
/** Pairs per transaction of the batched SQL from pgbench. */
const sqlBatchPairs = [8, 32] as const;
const membersCount = 1_000;
const benchDatabase = 'allot_bench_resv';
const pgbenchDatabase = 'allot_bench_resv_pgbench';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

function percentile(values: number[], fraction: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

async function recreate(admin: postgres.Sql, name: string) {
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.unsafe(`create database "${name}"`);
}

/** An organisation of `membersCount` people with emails, each granted `tokens`. */
async function seed(ctx: Ctx, tokens: bigint) {
  const org = await createOrganisation(ctx, { slug: `bench-${Date.now()}`, name: 'Bench', actor: operatorActor });
  if (!org.ok) throw new Error(org.failure);
  const emails: string[] = [];
  const ids: bigint[] = [];
  for (let index = 0; index < membersCount; index++) {
    const email = `p${index}@bench.test`;
    const member = await addMember(ctx, { orgId: org.value.id, displayName: `P${index}`, email, actor: operatorActor });
    if (!member.ok) throw new Error(member.failure);
    emails.push(email);
    ids.push(member.value.id);
  }
  for (let start = 0; start < ids.length; start += 50) {
    const granted = await grantTokens(ctx, {
      orgId: org.value.id,
      actor: operatorActor,
      recipientIds: ids.slice(start, start + 50),
      amount: tokens,
      idempotencyKey: `seed-${start}`,
    });
    if (!granted.ok) throw new Error(granted.failure);
  }
  return { orgId: org.value.id, emails };
}

function median(values: number[]): number {
  return percentile(values, 0.5);
}

/**
 * Reserve + settle pairs through the verbs on a pool of `connections` for phaseSeconds: `callers`
 * loops, each reserving 100 tokens for a new id then settling 60 + 40, closed loop. `batched`: the
 * app's batcher (requests in flight together share a transaction); otherwise one request per
 * transaction, as before batching.
 */
async function pairsPerSecond(
  input: { connections: number; callers: number; batched: boolean },
  orgId: bigint,
  emails: string[],
  tag: string,
) {
  const db = await createDatabase({ databaseUrl: withDatabase(serverUrl, benchDatabase), poolMax: input.connections });
  const batcher = configureReservationBatcher(
    db,
    input.batched ? {} : { batchSizeMax: 1, inFlightMax: input.connections },
  );
  const ctx: Ctx = { db, clock: systemClock };
  let pairs = 0;
  const deadline = performance.now() + phaseSeconds * 1_000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: input.callers }, async (_, worker) => {
      for (let n = 0; performance.now() < deadline; n++) {
        const id = `${tag}-${worker}-${n}`;
        const user = emails[(worker * 7919 + n) % emails.length]!;
        const reserved = await reserveTokens(ctx, { orgId, idempotencyKey: id, user, tokens: 100n, model: 'gpt-4o' });
        if (!reserved.ok) throw new Error(`reserve: ${reserved.failure}`);
        const settled = await settleReservation(ctx, {
          orgId,
          idempotencyKey: id,
          usage: { model: 'gpt-4o', input_tokens: 60, output_tokens: 40 },
        });
        if (!settled.ok) throw new Error(`settle: ${settled.failure}`);
        pairs++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1_000;
  const stats = batcher.stats();
  await db.close();
  return { pairs: pairs / seconds, requestsPerBatch: stats.requests / Math.max(1, stats.batches) };
}

function pgbenchTps(connections: number): number {
  const args = connections === 1 ? ['-c', '1'] : ['-c', String(connections), '-j', '2'];
  const output = execFileSync(
    'pgbench',
    [...args, '-T', String(phaseSeconds), '-n', withDatabase(serverUrl, pgbenchDatabase)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return Number(/tps = ([0-9.]+) \(without initial connection time\)/.exec(output)?.[1]);
}

/**
 * The same pair with no Node at all: allot_reserve then allot_settle_reservation (the functions the
 * verbs call) from pgbench's C client, simple protocol, one transaction each, as the verbs run them.
 * The ceiling of the verbs on this server: what the database itself costs per pair.
 */
function pgbenchPairsPerSecond(connections: number, orgId: bigint, tag: string): number {
  const key = `'${tag}-:client_id-:r'`;
  const email = `'p:m@bench.test'`;
  const script = [
    `\\set m random(0, ${membersCount - 1})`,
    '\\set r random(1, 2000000000)',
    `select o_status from allot_reserve(${orgId}, ${key}, 'h', 'email', ${email}, ${email}, 100, 'gpt-4o', now(), now() + interval '300 s');`,
    `select o_status from allot_settle_reservation(${orgId}, ${key}, 'api', now(), jsonb_build_object('event_id', 'reservation:' || ${key}, 'op_key', 'usage:reservation:' || ${key}, 'content_hash', 'c', 'raw_hash', null, 'model', 'gpt-4o', 'category', 'other', 'input_tokens', '60', 'output_tokens', '40', 'event_at', now()));`,
  ].join('\n');
  return runScript(script, connections, 'pair');
}

/** Transactions per second of a pgbench custom script on the bench database (simple protocol, phaseSeconds). */
function runScript(script: string, connections: number, name: string, extra: string[] = []): number {
  const file = path.join(tmpdir(), `allot-bench-${name}-${process.pid}.sql`);
  writeFileSync(file, `${script}\n`);
  const args = connections === 1 ? ['-c', '1'] : ['-c', String(connections), '-j', '2'];
  const output = execFileSync(
    'pgbench',
    [
      ...args,
      ...extra,
      '-M',
      'simple',
      '-n',
      '-f',
      file,
      '-T',
      String(phaseSeconds),
      withDatabase(serverUrl, benchDatabase),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (/aborted|error/i.test(output)) throw new Error(`pgbench ${name} script failed:\n${output}`);
  return Number(/tps = ([0-9.]+) \(without initial connection time\)/.exec(output)?.[1]);
}

/**
 * `pairs` reserve + settle pairs per transaction from pgbench's C client, through
 * allot_reservation_batch (the batcher's one SQL call): each transaction settles the `pairs`
 * reservations its client made in the transaction before and makes `pairs` new ones. What the database
 * itself costs per pair when requests are batched: the ceiling of the batched verbs.
 */
function pgbenchBatchedPairsPerSecond(connections: number, pairs: number, orgId: bigint, tag: string): number {
  const key = (round: string) => `'${tag}-:client_id-' || ${round} || '-' || g`;
  const email = `'p' || ((:r + g * 7919) % ${membersCount}) || '@bench.test'`;
  const settles = `(select coalesce(jsonb_agg(jsonb_build_object('idx', g, 'key', ${key(':prev')}, 'now', now(), 'event',
      jsonb_build_object('event_id', 'reservation:' || ${key(':prev')}, 'op_key', 'usage:reservation:' || ${key(':prev')},
        'content_hash', 'c', 'raw_hash', null, 'model', 'gpt-4o', 'category', 'other', 'input_tokens', '60',
        'output_tokens', '40', 'event_at', now()))), '[]') from generate_series(1, ${pairs}) g)`;
  const reserves = `(select jsonb_agg(jsonb_build_object('idx', ${pairs} + g, 'key', ${key(':r')}, 'hash', 'h',
      'user_kind', 'email', 'user_value', ${email}, 'user_ref', ${email}, 'amount', 100, 'model', 'gpt-4o', 'now', now(),
      'expires_at', now() + interval '300 s')) from generate_series(1, ${pairs}) g)`;
  const script = [
    '\\set r random(1, 2000000000)',
    `select count(*) from allot_reservation_batch(${orgId}, 'api', ${settles}, ${reserves});`.replaceAll('\n', ' '),
    '\\set prev :r',
  ].join('\n');
  return pairs * runScript(script, connections, 'batch', ['-D', 'prev=0']);
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); NaN elsewhere. */
function processCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds used so far by the PostgreSQL server's processes on this machine (Linux; NaN elsewhere). */
function postgresCpuSeconds(): number {
  try {
    let total = 0;
    for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('postgres'))
          total += processCpuSeconds(Number(pid));
      } catch {
        // The process ended meanwhile.
      }
    }
    return total;
  } catch {
    return Number.NaN;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * `openLoopRate` reserve + settle pairs per second for `seconds`, each started on schedule whatever the
 * answers (so a slow server shows as latency, not as a lower rate); ids start with `tag`. Reserve
 * latency counts from when the call was due; CPU is the server's, this process's and PostgreSQL's.
 */
async function drive(allot: AllotClient, emails: string[], tag: string, seconds: number, serverPid: number) {
  const reserveMs: number[] = [];
  /** Reserve latencies by the second of the run their call was due in. */
  const bySecond: number[][] = [];
  const started = performance.now();
  const sample = (due: number) => {
    const ms = performance.now() - due;
    reserveMs.push(ms);
    const second = Math.floor((due - started) / 1_000);
    const bucket = bySecond[second] ?? [];
    bucket.push(ms);
    bySecond[second] = bucket;
  };
  let held = 0;
  let refused = 0;
  let failed = 0;
  const failures = new Map<string, number>();
  const total = Math.round(openLoopRate * seconds);
  const cpuBefore = {
    server: processCpuSeconds(serverPid),
    client: process.cpuUsage(),
    postgres: postgresCpuSeconds(),
  };
  const calls: Promise<void>[] = [];
  for (let n = 0; n < total; n++) {
    const due = started + (n * 1_000) / openLoopRate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    calls.push(
      (async () => {
        const id = `${tag}-${n}`;
        try {
          await allot.reserve({ id, user: emails[n % emails.length]!, tokens: 100, model: 'gpt-4o' });
          sample(due);
          held++;
          await allot.settle(id, { model: 'gpt-4o', input_tokens: 60, output_tokens: 40 });
        } catch (error) {
          if (error instanceof InsufficientTokensError) {
            sample(due);
            refused++;
          } else {
            failed++;
            const name = error instanceof Error ? `${error.name}: ${error.message.slice(0, 80)}` : String(error);
            failures.set(name, (failures.get(name) ?? 0) + 1);
          }
        }
      })(),
    );
  }
  await Promise.all(calls);
  const elapsed = (performance.now() - started) / 1_000;
  const clientCpu = process.cpuUsage(cpuBefore.client);
  // Where the machine's CPU went, per pair that was held and settled (µs).
  const perPair = (cpuSeconds: number) => Math.round((cpuSeconds * 1e6) / Math.max(1, held));
  for (const [name, count] of failures) console.error(`${tag}: failed ${count}×: ${name}`);
  return {
    offered: total,
    seconds: elapsed,
    held,
    refused,
    failed,
    p50: percentile(reserveMs, 0.5),
    p99: percentile(reserveMs, 0.99),
    p99BySecond: bySecond.map((values) => percentile(values, 0.99)),
    p50BySecond: bySecond.map((values) => percentile(values, 0.5)),
    load: loadavg()[0]!,
    cpu: {
      server: perPair(processCpuSeconds(serverPid) - cpuBefore.server),
      client: perPair((clientCpu.user + clientCpu.system) / 1e6),
      postgres: perPair(postgresCpuSeconds() - cpuBefore.postgres),
    },
  };
}

/**
 * The HTTP API open loop against `node dist/main.js`: a warm-up of warmupSeconds, then phaseSeconds
 * measured, both at openLoopRate (see `drive`), each pair reserving 100 tokens for a member who holds
 * 1,000 and settling exactly 100. Wallets run dry on purpose when the phases are long: the 402s and
 * the wallets checked afterwards are the check that nothing overshoots.
 */
async function openLoop(emails: string[], apiKey: string) {
  const port = await freePort();
  const nodeArgs = (process.env.BENCH_SERVER_ARGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, path.join(root, 'dist/main.js')], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: withDatabase(serverUrl, benchDatabase),
      PORT: String(port),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
      } catch {
        if (attempt > 300) throw new Error('the server did not start');
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const allot = new AllotClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey });
    // A server just started compiles its code and plans as the first requests come: the warm-up runs
    // the same load first, reported apart, so the figures are the steady state a running server gives.
    // Halfway through the warm-up the database is analysed, as autovacuum does in a deployment's first
    // minutes: plans the server caches from then on are made on statistics, not on new tables' first
    // pages (see migrations/0017_reservation_batch_probes.sql).
    const analyzed = new Promise((resolve) => setTimeout(resolve, (warmupSeconds * 1_000) / 2)).then(async () => {
      const analyzer = postgres(withDatabase(serverUrl, benchDatabase), { max: 1, onnotice: () => {} });
      await analyzer`analyze`;
      await analyzer.end();
    });
    const warmup = await drive(allot, emails, 'warm', warmupSeconds, child.pid!);
    await analyzed;
    const metricsBefore = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const loop = await drive(allot, emails, 'http', phaseSeconds, child.pid!);
    const metricsAfter = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const server = serverLatency(metricsBefore, metricsAfter, '/v1/reservations');
    allot.close();
    return { ...loop, warmup, server };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

/**
 * The reserves' time inside the server over a phase, from the server's own histogram on /metrics
 * (allot_http_request_duration_seconds, read before and after): how many, the share within 10 ms, and
 * the bucket bounds that hold the median and the 99th percentile.
 */
function serverLatency(before: string, after: string, route: string) {
  const buckets = (text: string) => {
    const counts = new Map<number, number>();
    const pattern = new RegExp(
      `^allot_http_request_duration_seconds_bucket\\{le="([^"]+)",route="${route}"\\} (\\d+)$`,
      'gm',
    );
    for (const match of text.matchAll(pattern))
      counts.set(match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]), Number(match[2]));
    return counts;
  };
  const start = buckets(before);
  const cumulative = [...buckets(after)].map(([le, count]) => ({ le, count: count - (start.get(le) ?? 0) }));
  const total = cumulative.find((bucket) => bucket.le === Number.POSITIVE_INFINITY)?.count ?? 0;
  const within = (seconds: number) => cumulative.find((bucket) => bucket.le === seconds)?.count ?? 0;
  const bound = (fraction: number) => cumulative.find((bucket) => bucket.count >= total * fraction)?.le ?? Number.NaN;
  return {
    count: total,
    within10ms: total === 0 ? Number.NaN : within(0.01) / total,
    p50: bound(0.5),
    p99: bound(0.99),
  };
}

/**
 * The latency floor (commit-floor.server.ts, in the bench database): as many requests per second as the
 * HTTP phase sends (two per pair), each committing one row, open loop through a keep-alive node:http
 * agent, a warm-up then the measured phase. Latency counts from when the request was due.
 */
async function commitFloor() {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(root, 'bench/reservations/commit-floor.server.ts'),
      withDatabase(serverUrl, benchDatabase),
      String(port),
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const request = () =>
    new Promise<void>((resolve, reject) => {
      const call = http.request(
        { host: '127.0.0.1', port, method: 'POST', path: '/', agent, headers: { 'content-type': 'application/json' } },
        (response) => {
          response.resume();
          response.on('end', () =>
            response.statusCode === 201 ? resolve() : reject(new Error(`${response.statusCode}`)),
          );
        },
      );
      call.on('error', reject);
      call.end('{"id":"floor","user":"p1@bench.test","tokens":100,"model":"gpt-4o"}');
    });
  const rate = openLoopRate * 2;
  const phase = async (seconds: number) => {
    const latencies: number[] = [];
    const calls: Promise<void>[] = [];
    const started = performance.now();
    for (let n = 0; n < Math.round(rate * seconds); n++) {
      const due = started + (n * 1_000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      calls.push(request().then(() => void latencies.push(performance.now() - due)));
    }
    await Promise.all(calls);
    return { rate, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
  };
  try {
    await phase(warmupSeconds);
    return await phase(phaseSeconds);
  } finally {
    agent.destroy();
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

async function main() {
  execFileSync(process.execPath, [path.join(root, 'scripts/build.js'), '--if-stale'], { cwd: root, stdio: 'inherit' });
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await recreate(admin, benchDatabase);
  if (only !== 'http') {
    // pgbench's TPC-B tables, for the throughput phases only.
    await recreate(admin, pgbenchDatabase);
    execFileSync('pgbench', ['-i', '-s', '10', '-q', withDatabase(serverUrl, pgbenchDatabase)], { stdio: 'ignore' });
  }

  const db = await createDatabase({ databaseUrl: withDatabase(serverUrl, benchDatabase), poolMax: 2 });
  await applyMigrations(db, withDatabase(serverUrl, benchDatabase));
  const ctx: Ctx = { db, clock: systemClock };
  const verbs = only === 'http' ? { orgId: 0n, emails: [] } : await seed(ctx, 1_000_000_000n);

  const load = [loadavg()[0]!];
  const rows: string[] = [];
  const settings = [
    { connections: 1, callers: 1 },
    { connections: 8, callers: 8 },
    { connections: 8, callers: 64 },
  ];
  const figures = settings.map(() => ({
    batched: [] as number[],
    perBatch: [] as number[],
    single: [] as number[],
    sql: [] as number[],
    sqlBatched: sqlBatchPairs.map(() => [] as number[]),
    tps: [] as number[],
  }));
  for (let round = 0; round < (only === 'http' ? 0 : rounds); round++) {
    for (const [index, setting] of settings.entries()) {
      const into = figures[index]!;
      const tag = `r${round}c${setting.connections}x${setting.callers}`;
      // pgbench's phases depend on connections only: the row of more callers shares them.
      const pgbenchToo = setting.callers === setting.connections;
      if (pgbenchToo) into.tps.push(pgbenchTps(setting.connections));
      const batched = await pairsPerSecond({ ...setting, batched: true }, verbs.orgId, verbs.emails, `${tag}b`);
      into.batched.push(batched.pairs);
      into.perBatch.push(batched.requestsPerBatch);
      into.single.push(
        (await pairsPerSecond({ ...setting, batched: false }, verbs.orgId, verbs.emails, `${tag}s`)).pairs,
      );
      if (!pgbenchToo) continue;
      into.sql.push(pgbenchPairsPerSecond(setting.connections, verbs.orgId, `${tag}q`));
      for (const [n, pairs] of sqlBatchPairs.entries()) {
        into.sqlBatched[n]!.push(
          pgbenchBatchedPairsPerSecond(setting.connections, pairs, verbs.orgId, `${tag}n${pairs}`),
        );
      }
      load.push(loadavg()[0]!);
    }
  }
  const whole = (value: number) => Math.round(value).toLocaleString('en-US');
  const times = (value: number, tps: number) => `${(value / tps).toFixed(2)}×`;
  for (const [index, setting] of only === 'http' ? [] : settings.entries()) {
    const into = figures[index]!;
    const reference = figures[settings.findIndex((other) => other.connections === setting.connections)]!;
    const tps = median(reference.tps);
    const sql = median(reference.sql);
    const sqlBatched = reference.sqlBatched.map(median);
    rows.push(
      `| ${setting.connections} | ${setting.callers} | ${whole(median(into.batched))} (${median(into.perBatch).toFixed(1)} per batch) | ${whole(median(into.single))} | ${whole(sql)} | ${sqlBatched.map(whole).join(' / ')} | ${whole(tps)} | ${times(median(into.batched), tps)} | ${times(median(into.single), tps)} | ${times(sql, tps)} | ${sqlBatched.map((value) => times(value, tps)).join(' / ')} |`,
    );
  }

  const gateway = await seed(ctx, 1_000n);
  const key = await createApiKey(ctx, { orgId: gateway.orgId, actor: operatorActor, name: 'bench' });
  if (!key.ok) throw new Error(key.failure);
  const loop = await openLoop(gateway.emails, key.value.key);
  const floor = await commitFloor();
  const checker = postgres(withDatabase(serverUrl, benchDatabase), { max: 1, onnotice: () => {} });
  const [overshoot] = await checker<{ wallets: string; tokens: string }[]>`
    select count(*)::text as wallets, coalesce(sum(-balance), 0)::text as tokens
      from accounts where kind = 'wallet' and org_id = ${gateway.orgId.toString()}::bigint and balance < 0`;
  await checker.end();
  const audit = await auditLedger(ctx, {});
  await db.close();
  await admin.unsafe(`drop database if exists "${benchDatabase}" with (force)`);
  await admin.unsafe(`drop database if exists "${pgbenchDatabase}" with (force)`);
  await admin.end();

  console.log(
    `Reservations on ${new URL(serverUrl).host}, ${phaseSeconds} s per phase, ${membersCount} members, Node ${process.version}\n`,
  );
  if (only !== 'http') {
    console.log(
      `| connections | callers | verbs, batched (pairs/s) | verbs, one at a time | two SQL calls from pgbench | ${sqlBatchPairs.join(' / ')} pairs per transaction from pgbench | pgbench TPC-B (tps) | batched ÷ TPC-B | one at a time ÷ TPC-B | two SQL calls ÷ TPC-B | ${sqlBatchPairs.join(' / ')} per transaction ÷ TPC-B |`,
    );
    console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const row of rows) console.log(row);
    console.log(
      `\nMedians of ${rounds} interleaved rounds; load average (1 min) ${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)} during them.`,
    );
  }
  console.log(
    `\nHTTP open loop at ${openLoopRate} pairs/s for ${phaseSeconds} s (${loop.offered} offered, ${(loop.offered / loop.seconds).toFixed(0)}/s achieved):` +
      ` ${loop.held} held and settled, ${loop.refused} refused (402), ${loop.failed} failed;` +
      ` reserve latency p50 ${loop.p50.toFixed(1)} ms, p99 ${loop.p99.toFixed(1)} ms (second by second, p50 / p99: ${loop.p50BySecond.map((ms, second) => `${ms.toFixed(0)}/${loop.p99BySecond[second]!.toFixed(0)}`).join(', ')} ms);` +
      ` in the server (its /metrics histogram): ${(loop.server.within10ms * 100).toFixed(1)}% of ${loop.server.count} reserves within 10 ms, p50 ≤ ${loop.server.p50 * 1_000} ms, p99 ≤ ${loop.server.p99 * 1_000} ms;` +
      ` CPU per pair held and settled: server ${loop.cpu.server} µs, this client ${loop.cpu.client} µs, PostgreSQL ${loop.cpu.postgres} µs;` +
      ` overshoot: ${overshoot?.wallets} wallets below zero (${overshoot?.tokens} tokens); audit: ${audit.length === 0 ? 'clean' : `${audit.length} violations`};` +
      ` load average (1 min) ${loop.load.toFixed(1)}`,
  );
  const warm = loop.warmup;
  console.log(
    `Warm-up before it (the server just started), ${warmupSeconds} s at the same rate: ${warm.held} held and settled,` +
      ` ${warm.refused} refused, ${warm.failed} failed; reserve latency p50 ${warm.p50.toFixed(1)} ms, p99 ${warm.p99.toFixed(1)} ms` +
      ` (second by second, p50 / p99: ${warm.p50BySecond.map((ms, second) => `${ms.toFixed(0)}/${warm.p99BySecond[second]!.toFixed(0)}`).join(', ')} ms)`,
  );
  console.log(
    `Reference, same machine and run: a server that commits one row per request and does nothing else (commit-floor.server.ts), ${floor.rate} requests/s for ${phaseSeconds} s after a warm-up:` +
      ` latency p50 ${floor.p50.toFixed(1)} ms, p99 ${floor.p99.toFixed(1)} ms`,
  );
}

// A run that fails leaves no bench database behind (a run that succeeds drops them itself).
await main().catch(async (error: unknown) => {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  for (const name of [benchDatabase, pgbenchDatabase]) {
    await admin.unsafe(`drop database if exists "${name}" with (force)`).catch(() => {});
  }
  await admin.end();
  throw error;
});
