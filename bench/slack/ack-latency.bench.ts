// Acknowledgement latency of /grant-tokens under a steady load of signed slash commands.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:slack
//
// Starts Allot as `npm start` does, in its own process (src/main.ts: migrations, Bolt on
// POST /slack/events, one HTTP server), on a scratch database created on that Postgres server, with
// Slack's Web API and the response_url target served by a local fake in this process. It then sends BENCH_RATE signed /grant-tokens commands per second
// (open loop: each is sent on schedule whether or not earlier ones were answered) for BENCH_SECONDS,
// and reports the acknowledgement latency (HTTP 200 from /slack/events), the share acknowledged under
// Slack's 3 s deadline, and the time until the reply reached response_url. As a reference measured in
// the same run, GET /healthz (one database round trip, no Slack work) is timed at the same rate.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import postgres from 'postgres';
import { createDatabase } from '../../src/db/client';
import { auditLedger } from '../../src/ledger/ledger.usecases';
import { systemClock } from '../../src/lib/clock';
import * as membersRepo from '../../src/members/members.repository';
import { signingSecret } from '../../test/support/app';
import { FakeSlack } from '../../test/support/fake-slack';
import { grantLoadTeamId, prepareGrantLoad, runGrantLoad } from './grant-load';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

async function waitForHealthy(baseUrl: string, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt++) {
    if (child.exitCode !== null) throw new Error(`Allot exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${baseUrl}/healthz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('Allot did not become healthy in 60 s');
}

const rate = Number(process.env.BENCH_RATE ?? 50);
const seconds = Number(process.env.BENCH_SECONDS ?? 30);
const ackDeadlineMs = 3_000;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function describe(label: string, samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    label,
    n: sorted.length,
    p50: percentile(sorted, 50).toFixed(1),
    p99: percentile(sorted, 99).toFixed(1),
    max: (sorted.at(-1) ?? Number.NaN).toFixed(1),
  };
}

async function main() {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    console.error(
      'Set DATABASE_URL to a Postgres server, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres',
    );
    process.exit(2);
  }
  const name = `allot_bench_slack_${randomBytes(4).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;

  const slack = new FakeSlack();
  await slack.start();
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      ...process.env,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      DATABASE_URL: url.toString(),
      SLACK_SIGNING_SECRET: signingSecret,
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_API_URL: slack.apiUrl,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitForHealthy(baseUrl, child);
  const db = await createDatabase({ databaseUrl: url.toString(), poolMax: 2 });
  const ctx = { db, clock: systemClock };
  const harness = { slack, baseUrl };
  try {
    const ws = await prepareGrantLoad(harness);
    const total = Math.round(rate * seconds);
    console.log(`sending ${total} /grant-tokens at ${rate}/s for ${seconds}s, and GET /healthz at the same rate`);
    const { acks, health, replies, statuses, elapsedS } = await runGrantLoad({ ws, slack, baseUrl, rate, seconds });
    const under = acks.filter((ms) => ms < ackDeadlineMs).length;
    const org = await membersRepo.findOrganisationByWorkspace(db.orm, 'slack', grantLoadTeamId);
    const grants = await postgres(url.toString(), { max: 1 })
      .unsafe(
        `select count(distinct operation_key)::int as n from transfers where code = 'grant' and memo like 'bench %'`,
      )
      .then((rows) => rows[0]?.n as number);
    const violations = await auditLedger(ctx, { orgId: org!.id });

    console.log();
    console.log(
      `database: Postgres (${new URL(serverUrl).host}), ran ${elapsedS.toFixed(1)} s, HTTP statuses ${JSON.stringify(Object.fromEntries(statuses))}, ` +
        `load average ${loadavg()
          .map((load) => load.toFixed(1))
          .join(' ')} on this machine`,
    );
    console.table([
      describe('/grant-tokens ack (ms)', acks),
      describe('reference: GET /healthz (ms)', health),
      describe('/grant-tokens reply at response_url (ms)', replies),
    ]);
    console.log(`acknowledged under 3 s: ${under}/${acks.length} (${((100 * under) / acks.length).toFixed(2)}%)`);
    console.log(`grants posted: ${grants} of ${total}; ledger audit violations: ${violations.length}`);
    const p99 = percentile(
      [...acks].sort((a, b) => a - b),
      99,
    );
    console.log(
      `targets: p99 <= 250 ms: ${p99 <= 250 ? 'met' : 'MISSED'}; 100% under 3 s: ${under === acks.length ? 'met' : 'MISSED'}`,
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await db.close();
    await slack.stop();
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
