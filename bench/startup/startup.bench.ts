// Start-up time of the server, compiled (`node dist/main.js`, what `npm start` runs once dist/ is
// current) beside the same sources through tsx (`npm run dev`, what `npm start` ran before the build):
// from spawning the process to its "Allot is listening" log line, with the database already created and
// migrated.
//
//   npm run bench:startup                                                     # PGlite only
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:startup   # and Postgres
//   BENCH_RUNS=7 (starts of each kind, interleaved; default 5)

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { startServer } from '../memory/server-process';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const runs = Number(process.env.BENCH_RUNS ?? 5);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Slack on (HTTP mode), as a deployment runs; nothing calls Slack during a start. */
const slackEnv = {
  SLACK_BOT_TOKEN: 'xoxb-bench',
  SLACK_SIGNING_SECRET: 'bench-signing-secret',
  SLACK_API_URL: 'http://127.0.0.1:9/api/',
};

/** One start first (creates and migrates the storage), then `runs` starts of each runner, interleaved. */
async function measure(label: string, storage: Record<string, string>) {
  const env = { ...storage, ...slackEnv };
  const first = await startServer(env, 'compiled');
  await first.stop();
  const times = { compiled: [] as number[], tsx: [] as number[] };
  for (let run = 0; run < runs; run++) {
    for (const runner of ['compiled', 'tsx'] as const) {
      const server = await startServer(env, runner);
      times[runner].push(server.listeningMs);
      await server.stop();
    }
  }
  return (['compiled', 'tsx'] as const).map((runner) => ({
    '': `${label}, ${runner === 'compiled' ? 'compiled (npm start)' : 'through tsx (npm run dev)'}`,
    median: seconds(median(times[runner])),
    min: seconds(Math.min(...times[runner])),
    max: seconds(Math.max(...times[runner])),
  }));
}

async function main() {
  execFileSync(process.execPath, [path.join(root, 'scripts/build.js'), '--if-stale'], { cwd: root, stdio: 'inherit' });
  const rows = [];
  const scratch = await mkdtemp(path.join(tmpdir(), 'allot-bench-startup-'));
  try {
    rows.push(...(await measure('PGlite, existing folder', { DATA_DIR: path.join(scratch, 'data') })));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl) {
    const name = `allot_bench_startup_${randomBytes(4).toString('hex')}`;
    const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database "${name}"`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    try {
      rows.push(...(await measure('Postgres', { DATABASE_URL: url.toString() })));
    } finally {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    }
  }
  console.log(
    `\n${runs} starts of each, to "Allot is listening"; Node ${process.version}, load average ${loadavg()
      .map((load) => load.toFixed(1))
      .join(' ')}`,
  );
  console.table(rows);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
