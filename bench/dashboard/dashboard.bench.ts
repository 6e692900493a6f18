// Dashboard benchmark (not part of npm test): `npm run bench:dashboard` on Postgres (DATABASE_URL).
//
// One organisation of 5,000 members and 10,000,000 usage events over the last 90 days (the usage
// bench's generator, bench/usage/generate-usage.ts), with the ledger such usage leaves: a grant to
// every member, then one usage transfer per member per day (455,000 transfers), balances to match. Then
// Allot itself, started as `npm start` starts it with the dashboard on, and an admin signed in from a
// one-time link:
//
// - server time: each dashboard page asked for in turn by a client on this machine (the organisation
//   page, in its default and its widest views, and the ledger, plain and filtered by code, member and
//   dates), `--runs` times (default 100), p50, p95 and max of the whole answer;
// - first load in Chromium: the organisation page opened in a fresh browser context (nothing cached),
//   from navigation to both charts drawn, `--loads` times (default 5).
//
// - the price of the organisation's daily rollups (usage_org_daily_rollups, kept by triggers on the
//   members' rollups) on ingestion: batches of 1,000 new events for 600 members through the real verb
//   ingestUsage, the triggers switched on and off in alternate batches, `--batches` of each (default 20).
//
// Targets (issue #15): server time p95 ≤ 150 ms; first load ≤ 1 s. Options: --runs N, --loads N,
// --batches N, --keep.
import { performance } from 'node:perf_hooks';
import postgres from 'postgres';
import { loadConfigFromProcessEnv, parseConfig } from '../../src/config/config';
import { createDatabase } from '../../src/db/client';
import { applyMigrations } from '../../src/db/migrate';
import { systemClock } from '../../src/lib/clock';
import { type Ctx, operatorActor } from '../../src/lib/context';
import { localDate } from '../../src/lib/periods.models';
import { startAllot } from '../../src/main';
import { addMember } from '../../src/members/members.usecases';
import { createOrganisation } from '../../src/members/organisations.usecases';
import { issueSignInLink } from '../../src/sessions/sessions.usecases';
import { ingestUsage } from '../../src/usage/usage.usecases';
import { freePort } from '../../test/start/spawn';
import { launchChromium } from '../../test/support/chromium';
import { followSignInLink } from '../../test/support/dashboard-signin';
import { benchCategories, benchModels, fundedOrganisation } from '../usage/bench-events';
import { generateUsage } from '../usage/generate-usage';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
const runs = option('runs', 100);
const loads = option('loads', 5);
const batches = option('batches', 20);
const members = 5_000;
const events = 10_000_000;
const days = 90;

const parsed = loadConfigFromProcessEnv();
if (!parsed.ok || !parsed.config.DATABASE_URL) {
  console.error(
    'bench:dashboard needs DATABASE_URL pointing at a Postgres server (it creates and drops allot_bench_dashboard).',
  );
  process.exit(2);
}
const serverUrl = parsed.config.DATABASE_URL;
const benchUrl = (() => {
  const url = new URL(serverUrl);
  url.pathname = '/allot_bench_dashboard';
  return url.toString();
})();

const fmt = (n: number) => n.toLocaleString('en-US');
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** Accounts for the generated members, a grant to each, and one usage transfer per member and day. */
async function generateLedger(raw: postgres.Sql, orgId: bigint): Promise<number> {
  const org = orgId.toString();
  await raw`insert into accounts (org_id, kind, member_id)
            select ${org}::bigint, k.kind, m.id from members m cross join (values ('wallet'), ('budget')) k(kind)
             where m.org_id = ${org}::bigint
               and not exists (select 1 from accounts a where a.org_id = m.org_id and a.member_id = m.id)`;
  const [first] = await raw`select min(day)::text as day from usage_daily_rollups where org_id = ${org}::bigint`;
  // Appended in time order, as transfers are (the BRIN index on created_at relies on it).
  await raw`
    insert into transfers (org_id, operation_key, leg, request_hash, debit_account_id, credit_account_id, amount,
                           code, actor_member_id, platform, memo, created_at)
    select t.org_id, t.operation_key, 1, 'bench', t.debit, t.credit, t.amount, t.code, t.actor, t.platform, t.memo, t.at
      from (
        select ${org}::bigint as org_id, 'bench-grant:' || w.member_id as operation_key, tr.id as debit, w.id as credit,
               1000000000::bigint as amount, 'grant' as code, null::bigint as actor, 'cli' as platform,
               'welcome grant' as memo, ${first?.day}::date - interval '1 hour' as at
          from accounts w
          join accounts tr on tr.org_id = w.org_id and tr.kind = 'treasury'
         where w.org_id = ${org}::bigint and w.kind = 'wallet'
        union all
        select ${org}::bigint, 'bench-usage:' || r.member_id || ':' || r.day, w.id, u.id, sum(r.tokens)::bigint,
               'usage', r.member_id, 'api', sum(r.events) || ' usage events', r.day + interval '18 hours'
          from usage_daily_rollups r
          join accounts w on w.org_id = r.org_id and w.kind = 'wallet' and w.member_id = r.member_id
          join accounts u on u.org_id = r.org_id and u.kind = 'usage'
         where r.org_id = ${org}::bigint
         group by r.member_id, r.day, w.id, u.id
      ) t
     order by t.at, t.operation_key`;
  await raw`
    update accounts a set balance = coalesce(c.credits, 0) - coalesce(d.debits, 0)
      from accounts x
      left join (select debit_account_id as id, sum(amount) as debits from transfers where org_id = ${org}::bigint group by 1) d
             on d.id = x.id
      left join (select credit_account_id as id, sum(amount) as credits from transfers where org_id = ${org}::bigint group by 1) c
             on c.id = x.id
     where a.org_id = ${org}::bigint and x.org_id = a.org_id and x.id = a.id`;
  // As autovacuum leaves a table that grew by appends: its BRIN ranges summarised, statistics current.
  await raw`vacuum analyze transfers`;
  await raw`analyze`;
  const [count] = await raw`select count(*)::int as n from transfers where org_id = ${org}::bigint`;
  return Number(count?.n);
}

async function timePages(baseUrl: string, cookie: string, pages: Record<string, string>) {
  const results: { page: string; p50: number; p95: number; max: number; bytes: number }[] = [];
  for (const [name, path] of Object.entries(pages)) {
    const get = async () => {
      const started = performance.now();
      const response = await fetch(`${baseUrl}${path}`, { headers: { cookie } });
      const body = await response.text();
      if (response.status !== 200) throw new Error(`${path}: ${response.status} ${body.slice(0, 200)}`);
      return { ms: performance.now() - started, bytes: body.length };
    };
    for (let i = 0; i < 5; i++) await get();
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < runs; i++) {
      const timed = await get();
      times.push(timed.ms);
      bytes = timed.bytes;
    }
    times.sort((a, b) => a - b);
    results.push({
      page: name,
      p50: quantile(times, 0.5),
      p95: quantile(times, 0.95),
      max: times[times.length - 1]!,
      bytes,
    });
  }
  return results;
}

async function timeFirstLoads(baseUrl: string, cookie: string): Promise<number[]> {
  const browser = await launchChromium();
  const [name, value] = cookie.split('=') as [string, string];
  const times: number[] = [];
  try {
    for (let i = 0; i < loads; i++) {
      const context = await browser.newContext();
      await context.addCookies([{ name, value, url: baseUrl }]);
      const page = await context.newPage();
      const started = performance.now();
      await page.goto(`${baseUrl}/dashboard/org`);
      await page.waitForFunction(() => {
        const chart = (window as unknown as { Chart?: { getChart(c: Element): unknown } }).Chart;
        const canvases = Array.from(document.querySelectorAll('figure[data-chart] canvas'));
        return chart !== undefined && canvases.length === 2 && canvases.every((canvas) => chart.getChart(canvas));
      });
      times.push(performance.now() - started);
      await context.close();
    }
  } finally {
    await browser.close();
  }
  return times;
}

/** Ingestion of 1,000-event batches with the organisation rollups' triggers on, then off, alternately. */
async function timeTriggerCost(ctx: Ctx, raw: postgres.Sql): Promise<{ on: number[]; off: number[] }> {
  const { orgId } = await fundedOrganisation(ctx, {
    slug: 'bench-ingest',
    members: 600,
    email: (i) => `m${i}@ingest.example`,
    name: (i) => `M${i}`,
  });
  let sent = 0;
  const times = { on: [] as number[], off: [] as number[] };
  try {
    for (let round = 0; round < 2 * (batches + 2); round++) {
      const on = round % 2 === 0;
      await raw.unsafe(`alter table usage_daily_rollups ${on ? 'enable' : 'disable'} trigger user`);
      const events = Array.from({ length: 1_000 }, () => {
        sent++;
        return {
          id: `ingest-${sent}`,
          time: new Date(Date.now() - (sent % 6) * 3_600_000).toISOString(),
          user: `m${(sent * 7) % 600}@ingest.example`,
          model: benchModels[sent % benchModels.length]!,
          category: benchCategories[sent % benchCategories.length]!,
          input_tokens: 1_000 + (sent % 500),
          output_tokens: 200,
        };
      });
      const started = performance.now();
      const result = await ingestUsage(ctx, { orgId, events });
      if (!result.ok || result.value.accepted !== 1_000) throw new Error('ingestion refused events');
      // The first two rounds of each warm the caches and plans.
      if (round >= 4) (on ? times.on : times.off).push(performance.now() - started);
    }
  } finally {
    await raw`alter table usage_daily_rollups enable trigger user`;
  }
  return times;
}

async function main() {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe('drop database if exists allot_bench_dashboard with (force)');
  await admin.unsafe('create database allot_bench_dashboard');
  await admin.end();
  const db = await createDatabase({ databaseUrl: benchUrl, poolMax: 2 });
  await applyMigrations(db, benchUrl);
  const ctx: Ctx = { db, clock: systemClock };
  const raw = postgres(benchUrl, { max: 1, onnotice: () => {} });
  let stop: (() => Promise<void>) | undefined;
  try {
    const created = await createOrganisation(ctx, { slug: 'bench-dashboard', actor: operatorActor });
    if (!created.ok) throw new Error(created.failure);
    const orgId = created.value.id;
    const today = localDate(new Date(), 'UTC');
    const start = new Date(Date.parse(today) - (days - 1) * 86_400_000).toISOString().slice(0, 10);
    const end = new Date(Date.parse(today) + 86_400_000).toISOString().slice(0, 10);
    let started = performance.now();
    const generated = await generateUsage(raw, { orgId, members, events, start, end });
    const transfers = await generateLedger(raw, orgId);
    console.log(
      `data: ${fmt(members)} members, ${fmt(generated.events)} events in ${fmt(generated.rows)} daily rollups (${start} to ${today}), ${fmt(transfers)} transfers; generated in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    const ada = await addMember(ctx, {
      orgId,
      displayName: 'Ada Admin',
      email: 'ada@bench.example',
      role: 'admin',
      actor: operatorActor,
    });
    if (!ada.ok) throw new Error(ada.failure);

    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const config = parseConfig({
      DATABASE_URL: benchUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DASHBOARD_URL: baseUrl,
    });
    if (!config.ok) throw new Error(config.problems.join('; '));
    const allot = await startAllot({ config: config.config });
    stop = allot.stop;
    const link = await issueSignInLink(ctx, {
      orgId,
      memberId: ada.value.id,
      via: 'cli',
      actor: operatorActor,
      dashboardUrl: baseUrl,
    });
    if (!link.ok) throw new Error(link.failure);
    const session = await followSignInLink(baseUrl, link.value.url);
    if (!session.ok) throw new Error(`sign-in: ${session.status}`);
    const thirtyDaysAgo = new Date(Date.parse(today) - 30 * 86_400_000).toISOString().slice(0, 10);
    const twentyNineDaysAgo = new Date(Date.parse(today) - 29 * 86_400_000).toISOString().slice(0, 10);

    started = performance.now();
    const pages = await timePages(baseUrl, session.cookie, {
      'organisation (30 days by model, this week)': '/dashboard/org',
      'organisation (90 days by category, this quarter)': '/dashboard/org?days=90&by=category&board=quarter',
      'ledger, newest 50': '/dashboard/org/ledger',
      'ledger, code grant (the oldest 5,000 of 455,000)': '/dashboard/org/ledger?code=grant',
      'ledger, one member': '/dashboard/org/ledger?member=b17%40board.example',
      'ledger, one day a month ago': `/dashboard/org/ledger?from=${thirtyDaysAgo}&to=${twentyNineDaysAgo}`,
    });
    console.log(`\nserver time, ${runs} requests each, one at a time (target p95 ≤ 150 ms):`);
    for (const row of pages) {
      console.log(
        `  ${row.page.padEnd(52)} p50 ${row.p50.toFixed(1)} ms, p95 ${row.p95.toFixed(1)} ms, max ${row.max.toFixed(1)} ms (${fmt(row.bytes)} bytes)`,
      );
    }
    const firstLoads = (await timeFirstLoads(baseUrl, session.cookie)).sort((a, b) => a - b);
    console.log(
      `\nfirst load of the organisation page in Chromium, cold cache, to both charts drawn, ${loads} loads (target ≤ 1 s): median ${quantile(firstLoads, 0.5).toFixed(0)} ms, max ${firstLoads[firstLoads.length - 1]!.toFixed(0)} ms`,
    );
    const cost = await timeTriggerCost(ctx, raw);
    const median = (list: number[]) =>
      quantile(
        [...list].sort((a, b) => a - b),
        0.5,
      );
    console.log(
      `\ningestion of 1,000 new events (600 members), ${batches} batches each way: organisation rollups' triggers on: median ${median(cost.on).toFixed(1)} ms; off: median ${median(cost.off).toFixed(1)} ms (${((median(cost.on) / median(cost.off) - 1) * 100).toLocaleString('en-US', { signDisplay: 'always', maximumFractionDigits: 0 })} %)`,
    );
  } finally {
    await stop?.();
    await raw.end();
    await db.close();
    if (!args.includes('--keep')) {
      const dropper = postgres(serverUrl, { max: 1, onnotice: () => {} });
      await dropper.unsafe('drop database if exists allot_bench_dashboard with (force)');
      await dropper.end();
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
