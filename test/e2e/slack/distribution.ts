import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { expect } from 'vitest';
import { parseConfig } from '../../../src/config/config';
import { createTestClock } from '../../../src/lib/clock';
import { startAllot } from '../../../src/main';
import { type SlackHarness, SlackWorkspace, signingSecret } from '../../support/app';
import { freshAllotDatabase } from '../../support/db';
import { type FakeInstallation, FakeSlack, fakeSlackApp } from '../../support/fake-slack';
import { settle } from './team';

// Allot distributed to several Slack workspaces (SLACK_CLIENT_ID): a harness that starts it as
// `npm start` does, against the fake Slack (Web API, oauth.v2.access, auth.test), keeps its database
// across restarts (to change keys), and captures every log line at debug level.

/** A fresh random encryption key, as `openssl rand -base64 32` makes one. */
export const newEncryptionKey = () => randomBytes(32).toString('base64');

export const stateSecret = 'test-state-secret-6a0f5d1e9b3c';

/** The bot scopes manifest.json declares, comma-separated as Slack grants them. */
export const grantedScopes = 'commands,chat:write,im:write,users:read,users:read.email';

export interface DistributionHarness extends SlackHarness {
  /** Every log line written so far (JSON, debug level and above). */
  logs: string[];
  /** The environment Allot runs with now. */
  env: Record<string, string>;
  /** Stops Allot and starts it again on the same database with `changes` to its environment. */
  restart(changes: Record<string, string>): Promise<void>;
  /** PGlite's data folder (undefined on Postgres). */
  dataDir: string | undefined;
  /** The database URL (undefined on PGlite). */
  databaseUrl: string | undefined;
}

export async function startDistributionHarness(env: Record<string, string> = {}): Promise<DistributionHarness> {
  const slack = new FakeSlack();
  await slack.start();
  const database = await freshAllotDatabase({ prefix: 'allot-dist-' });
  const settings: Record<string, string> = {
    PORT: '0',
    LOG_LEVEL: 'debug',
    SLACK_SIGNING_SECRET: signingSecret,
    SLACK_CLIENT_ID: fakeSlackApp.clientId,
    SLACK_CLIENT_SECRET: fakeSlackApp.clientSecret,
    SLACK_STATE_SECRET: stateSecret,
    ALLOT_ENCRYPTION_KEY: newEncryptionKey(),
    SLACK_API_URL: slack.apiUrl,
    ...env,
    ...database.env,
  };
  const logs: string[] = [];
  const logger = pino(
    { level: 'debug', base: { app: 'allot' } },
    new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    }),
  );
  const clock = createTestClock(new Date());
  const start = async () => {
    const parsed = parseConfig(settings);
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    return startAllot({ config: parsed.config, clock, logger });
  };
  const harness: DistributionHarness = {
    allot: await start(),
    slack,
    clock,
    baseUrl: '',
    logs,
    env: settings,
    dataDir: settings.DATA_DIR,
    databaseUrl: settings.DATABASE_URL,
    async restart(changes) {
      await harness.allot.stop();
      for (const [key, value] of Object.entries(changes)) settings[key] = value;
      harness.allot = await start();
      harness.baseUrl = `http://127.0.0.1:${harness.allot.port}`;
    },
    async stop() {
      await harness.allot.stop();
      await slack.stop();
      await database.remove();
    },
  };
  harness.baseUrl = `http://127.0.0.1:${harness.allot.port}`;
  return harness;
}

/** What GET /slack/install handed the browser: the Add to Slack link's parameters and the state cookie. */
export async function openInstallPage(h: SlackHarness) {
  const response = await fetch(`${h.baseUrl}/slack/install`, { redirect: 'manual' });
  const html = await response.text();
  const href = /<a href="([^"]+)"/
    .exec(html)?.[1]
    ?.replace(/&#(\d+);/g, (_m, code) => String.fromCharCode(Number(code)));
  if (!href) throw new Error(`no Add to Slack link in: ${html.slice(0, 200)}`);
  const link = new URL(href);
  const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0]!;
  return { status: response.status, html, link, state: link.searchParams.get('state') ?? '', cookie };
}

/** Slack sending the browser back to /slack/oauth_redirect, exactly as it would after consent. */
export async function followRedirect(h: SlackHarness, input: { code: string; state: string; cookie?: string }) {
  const query = new URLSearchParams({ code: input.code, state: input.state });
  const response = await fetch(`${h.baseUrl}/slack/oauth_redirect?${query}`, {
    redirect: 'manual',
    headers: input.cookie ? { cookie: input.cookie } : {},
  });
  return { status: response.status, html: await response.text() };
}

/**
 * Someone installs Allot: opens /slack/install, approves on Slack's consent screen (the fake makes
 * the code), and comes back to /slack/oauth_redirect with the state cookie. Returns the installation
 * (its token is what the fake will see on every call made for that workspace).
 */
export async function install(
  h: SlackHarness,
  where: { teamId?: string; teamName?: string; enterpriseId?: string; enterpriseName?: string; orgWide?: boolean },
): Promise<FakeInstallation & { redirect: { code: string; state: string; cookie: string } }> {
  const page = await openInstallPage(h);
  const installation = h.slack.consent({
    teamId: where.orgWide ? undefined : where.teamId,
    teamName: where.teamName ?? where.teamId,
    enterpriseId: where.enterpriseId,
    enterpriseName: where.enterpriseName ?? where.enterpriseId,
    isEnterpriseInstall: Boolean(where.orgWide),
    installerUserId: 'UINSTALLER',
    scope: grantedScopes,
  });
  const redirect = { code: installation.code, state: page.state, cookie: page.cookie };
  const done = await followRedirect(h, redirect);
  expect(done.status, done.html).toBe(200);
  return { ...installation, redirect };
}

/** A workspace of its own (random team id), installed, with its token. */
export async function installedWorkspace(h: SlackHarness, name: string) {
  const ws = new SlackWorkspace(h);
  const installation = await install(h, { teamId: ws.teamId, teamName: name });
  return { ws, token: installation.token, installation };
}

/** Web API calls made with `token` from call number `from` on. */
export const callsWithToken = (h: SlackHarness, token: string, from = 0) =>
  h.slack.calls.slice(from).filter((call) => call.token === token);

/** Row counts of the tables an installation or a state redemption writes to. */
export async function installationRowCounts(h: SlackHarness) {
  const result = await h.allot.deps.ctx.db.orm.execute(sql`
    SELECT (SELECT count(*) FROM slack_installations)::int AS installations,
           (SELECT count(*) FROM slack_oauth_states_used)::int AS states,
           (SELECT count(*) FROM organisations)::int AS organisations,
           (SELECT count(*) FROM workspaces)::int AS workspaces`);
  const rows = Array.isArray(result) ? result : (result as { rows: unknown[] }).rows;
  return rows[0] as { installations: number; states: number; organisations: number; workspaces: number };
}

/**
 * Someone types /balance in a workspace Allot cannot serve (not installed, uninstalled, its token
 * unreadable): Slack gets its acknowledgement, and no answer ever comes.
 */
export async function expectCommandUnanswered(ws: SlackWorkspace): Promise<void> {
  const { body, responsePath } = ws.commandBody({ user: 'UANA', command: '/balance', text: '' });
  expect((await ws.send(body, 'application/x-www-form-urlencoded')).status).toBe(200);
  await settle(ws.harness);
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(ws.harness.slack.responsesTo(responsePath)).toEqual([]);
}
