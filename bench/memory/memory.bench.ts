// Resident memory of the compiled server (dist/, as `npm start` runs it), beside bare PGlite measured in
// the same run.
//
//   npm run bench:memory                                                     # PGlite only
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:memory   # and Postgres
//   BENCH_RATE=50 BENCH_SECONDS=30 (the Slack load of bench:slack)
//
// For each database: a first start on new storage (a new PGlite folder; a new Postgres database), then
// a start on that existing storage, idle, then the Slack load of `npm run bench:slack` (signed
// /grant-tokens at BENCH_RATE per second for BENCH_SECONDS), then idle again. Memory is read from
// /proc/<pid>/status: VmRSS (resident now) and VmHWM (the most the process was ever resident, i.e. its
// peak). "Idle" is VmRSS 5 s after the server answered /healthz. Start-up time is from spawning
// `node dist/main.js` to its "Allot is listening" log line. The same server run through tsx (`npm run
// dev`) and with Teams switched on (botbuilder loaded) are measured too, idle only.
//
// Reference in the same run: bare PGlite (bench/memory/bare-pglite.js), a Node process that only opens
// the same folder, or creates one (initdb, with PGlite's defaults and with Allot's settings, or unpacked
// from the build's template).

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { createDatabase } from '../../src/db/client';
import { pgliteSharedBuffers } from '../../src/db/pglite-settings';
import { pgliteTemplatePath } from '../../src/db/pglite-template';
import { auditLedger } from '../../src/ledger/ledger.usecases';
import { systemClock } from '../../src/lib/clock';
import * as membersRepo from '../../src/members/members.repository';
import { signingSecret } from '../../test/support/app';
import { FakeSlack } from '../../test/support/fake-slack';
import { grantLoadTeamId, prepareGrantLoad, runGrantLoad } from '../slack/grant-load';
import { type Memory, memoryOf, type Server, startServer } from './server-process';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const rate = Number(process.env.BENCH_RATE ?? 50);
const seconds = Number(process.env.BENCH_SECONDS ?? 30);
const settleMs = 5_000;

async function idle(server: Server): Promise<Memory> {
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  return memoryOf(server.pid);
}

function barePglite(mode: 'open' | 'create' | 'unpack', folder: string, sharedBuffers?: string, template?: string) {
  const args = [path.join(root, 'bench/memory/bare-pglite.js'), mode, folder];
  if (sharedBuffers) args.push('--shared-buffers', sharedBuffers);
  if (template) args.push('--template', template);
  const output = execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
  return JSON.parse(output.trim().split('\n').at(-1)!) as { readyMs: number; idleMb: number; peakMb: number };
}

interface Row {
  what: string;
  idleMb?: number;
  peakMb?: number;
  readyMs?: number;
  note?: string;
}

const mb = (value: number | undefined) => (value === undefined ? '' : `${Math.round(value)} MB`);
const ms = (value: number | undefined) => (value === undefined ? '' : `${(value / 1000).toFixed(1)} s`);

/** Starts, measures idle, runs the Slack load, measures again; returns the rows and checks the ledger. */
async function measure(
  label: string,
  env: Record<string, string>,
  openForAudit: () => ReturnType<typeof createDatabase>,
) {
  const rows: Row[] = [];
  const slack = new FakeSlack();
  await slack.start();
  const slackEnv = { SLACK_SIGNING_SECRET: signingSecret, SLACK_BOT_TOKEN: 'xoxb-bench', SLACK_API_URL: slack.apiUrl };
  try {
    const first = await startServer({ ...env, ...slackEnv }, 'compiled');
    const firstIdle = await idle(first);
    rows.push({
      what: `${label}: first start on new storage, compiled`,
      peakMb: first.atStart.peakMb,
      idleMb: firstIdle.rssMb,
      readyMs: first.listeningMs,
    });
    await first.stop();

    const server = await startServer({ ...env, ...slackEnv }, 'compiled');
    const startIdle = await idle(server);
    rows.push({
      what: `${label}: start on existing storage, compiled, idle`,
      idleMb: startIdle.rssMb,
      peakMb: server.atStart.peakMb,
      readyMs: server.listeningMs,
    });
    const ws = await prepareGrantLoad({ slack, baseUrl: server.baseUrl });
    console.log(`${label}: ${Math.round(rate * seconds)} /grant-tokens at ${rate}/s for ${seconds}s…`);
    // "After the load" is after the work too: every reply has reached response_url (or 10 minutes passed).
    const load = await runGrantLoad({ ws, slack, baseUrl: server.baseUrl, rate, seconds, replyTimeoutMs: 600_000 });
    const afterLoad = memoryOf(server.pid);
    const afterLoadIdle = await idle(server);
    const acks = [...load.acks].sort((a, b) => a - b);
    rows.push({
      what: `${label}: after the Slack load (${load.total} grants)`,
      idleMb: afterLoadIdle.rssMb,
      peakMb: afterLoad.peakMb,
      note:
        `right after: ${mb(afterLoad.rssMb)}; ack p99 ${acks[Math.ceil(0.99 * acks.length) - 1]?.toFixed(0)} ms; ` +
        `statuses ${JSON.stringify(Object.fromEntries(load.statuses))}; ${load.replies.length} replies, ` +
        `the last ${((Math.max(...load.replies) || 0) / 1000).toFixed(0)} s after its command`,
    });
    await server.stop();

    const db = await openForAudit();
    try {
      const org = await membersRepo.findOrganisationByWorkspace(db.orm, 'slack', grantLoadTeamId);
      const violations = await auditLedger({ db, clock: systemClock }, { orgId: org!.id });
      rows.at(-1)!.note += `; audit: ${violations.length} violations`;
    } finally {
      await db.close();
    }

    const viaTsx = await startServer({ ...env, ...slackEnv }, 'tsx');
    rows.push({
      what: `${label}: through tsx (npm run dev), idle`,
      idleMb: (await idle(viaTsx)).rssMb,
      peakMb: viaTsx.atStart.peakMb,
      readyMs: viaTsx.listeningMs,
    });
    await viaTsx.stop();

    const withTeams = await startServer({ ...env, ...slackEnv, TEAMS_ALLOW_UNAUTHENTICATED: 'true' }, 'compiled');
    rows.push({
      what: `${label}: compiled, Slack and Teams on (botbuilder loaded), idle`,
      idleMb: (await idle(withTeams)).rssMb,
      readyMs: withTeams.listeningMs,
    });
    await withTeams.stop();
  } finally {
    await slack.stop();
  }
  return rows;
}

async function main() {
  execFileSync(process.execPath, [path.join(root, 'scripts/build.js'), '--if-stale'], { cwd: root, stdio: 'inherit' });
  const rows: Row[] = [];
  const scratch = await mkdtemp(path.join(tmpdir(), 'allot-bench-memory-'));
  try {
    const dataDir = path.join(scratch, 'data');
    rows.push(...(await measure('PGlite', { DATA_DIR: dataDir }, () => createDatabase({ dataDir, poolMax: 1 }))));
    const pgdata = path.join(dataDir, 'pgdata');
    const open = barePglite('open', pgdata);
    rows.push({
      what: `reference: bare PGlite opening the same folder (its postgresql.conf: shared_buffers ${pgliteSharedBuffers})`,
      idleMb: open.idleMb,
      peakMb: open.peakMb,
      readyMs: open.readyMs,
    });
    const created = barePglite('create', path.join(scratch, 'bare-default'));
    rows.push({
      what: 'reference: bare PGlite creating a folder, PGlite defaults (shared_buffers 128MB)',
      idleMb: created.idleMb,
      peakMb: created.peakMb,
      readyMs: created.readyMs,
    });
    const openDefault = barePglite('open', path.join(scratch, 'bare-default'));
    rows.push({
      what: 'reference: bare PGlite opening that folder (shared_buffers 128MB)',
      idleMb: openDefault.idleMb,
      peakMb: openDefault.peakMb,
      readyMs: openDefault.readyMs,
    });
    const template = pgliteTemplatePath();
    if (template) {
      const unpacked = barePglite('unpack', path.join(scratch, 'bare-unpacked'), undefined, template);
      rows.push({
        what: 'reference: bare PGlite unpacking a folder from the build template (loadDataDir)',
        idleMb: unpacked.idleMb,
        peakMb: unpacked.peakMb,
        readyMs: unpacked.readyMs,
      });
    }
    const createdTuned = barePglite('create', path.join(scratch, 'bare-tuned'), pgliteSharedBuffers);
    rows.push({
      what: `reference: bare PGlite creating a folder with Allot's settings (shared_buffers ${pgliteSharedBuffers})`,
      idleMb: createdTuned.idleMb,
      peakMb: createdTuned.peakMb,
      readyMs: createdTuned.readyMs,
    });

    const serverUrl = process.env.DATABASE_URL;
    if (serverUrl) {
      const name = `allot_bench_memory_${randomBytes(4).toString('hex')}`;
      const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
      await admin.unsafe(`create database "${name}"`);
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      try {
        rows.push(
          ...(await measure('Postgres', { DATABASE_URL: url.toString() }, () =>
            createDatabase({ databaseUrl: url.toString(), poolMax: 1 }),
          )),
        );
      } finally {
        await admin.unsafe(`drop database if exists "${name}" with (force)`);
        await admin.end();
      }
    } else {
      console.log('(set DATABASE_URL to a Postgres server to measure on Postgres too)');
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  console.log();
  console.log(
    `Node ${process.version}, load average ${loadavg()
      .map((load) => load.toFixed(1))
      .join(' ')}; idle = VmRSS ${settleMs / 1000} s after /healthz first answered, peak = VmHWM`,
  );
  console.table(
    rows.map((row) => ({
      '': row.what,
      idle: mb(row.idleMb),
      peak: mb(row.peakMb),
      'to listening (or ready)': ms(row.readyMs),
      note: row.note ?? '',
    })),
  );
  const find = (prefix: string) => rows.find((row) => row.what.startsWith(prefix));
  const pgliteIdle = find('PGlite: start on existing storage');
  const bare = find('reference: bare PGlite opening the same folder');
  const postgresIdle = find('Postgres: start on existing storage');
  if (pgliteIdle?.idleMb && bare?.idleMb) {
    const above = pgliteIdle.idleMb - bare.idleMb;
    console.log(
      `target PGlite idle ≤ bare PGlite + 100 MB: ${Math.round(above)} MB above — ${above <= 100 ? 'met' : 'MISSED'}`,
    );
  }
  if (postgresIdle?.idleMb) {
    console.log(
      `target Postgres idle ≤ 150 MB: ${mb(postgresIdle.idleMb)} — ${postgresIdle.idleMb <= 150 ? 'met' : 'MISSED'}`,
    );
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
