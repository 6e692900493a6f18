import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyRing, open, parseEncryptionKey } from '../../../src/lib/secret-box';
import { slackBotScopes } from '../../../src/slack/install.oauth';
import { sealContextOf } from '../../../src/slack/installations.models';
import { slackInstallations } from '../../../src/slack/slack.tables';
import { SlackWorkspace } from '../../support/app';
import { onPostgres } from '../../support/db';
import { fakeSlackApp, textOf } from '../../support/fake-slack';
import {
  type DistributionHarness,
  expectCommandUnanswered,
  followRedirect,
  grantedScopes,
  install,
  installationRowCounts,
  installedWorkspace,
  newEncryptionKey,
  openInstallPage,
  startDistributionHarness,
  stateSecret,
} from './distribution';

const manifest = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../../manifest.json'), 'utf8'));

/** A JWT (HS256) made by hand, as someone forging a state would make one. */
function signState(payload: Record<string, unknown>, secret: string): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

let h: DistributionHarness;
beforeAll(async () => {
  h = await startDistributionHarness();
});
afterAll(async () => h?.stop());

describe('installing Allot through OAuth', () => {
  it("/slack/install offers Add to Slack with the manifest's bot scopes, the app's client id and a state, and sets that state in an HttpOnly cookie", async () => {
    const page = await openInstallPage(h);
    expect(page.status).toBe(200);
    expect(page.html).toContain('Install Allot in your Slack workspace');
    expect(`${page.link.origin}${page.link.pathname}`).toBe('https://slack.com/oauth/v2/authorize');
    expect(page.link.searchParams.get('client_id')).toBe(fakeSlackApp.clientId);
    const scopes = (page.link.searchParams.get('scope') ?? '').split(',');
    expect(scopes.sort()).toEqual([...manifest.oauth_config.scopes.bot].sort());
    expect([...slackBotScopes].sort()).toEqual([...manifest.oauth_config.scopes.bot].sort());
    expect(page.state.length).toBeGreaterThan(20);
    expect(page.cookie).toBe(`slack-app-oauth-state=${page.state}`);
  });

  it('a workspace that approves Allot is stored once, and its first command is answered with its own token', async () => {
    const before = await installationRowCounts(h);
    const { ws, token } = await installedWorkspace(h, 'Acme');
    expect((await installationRowCounts(h)).installations).toBe(before.installations + 1);
    const exchanged = h.slack.callsOf('oauth.v2.access').at(-1)!;
    expect(exchanged.params.client_secret).toBe(fakeSlackApp.clientSecret);
    expect(h.slack.callsOf('auth.test').at(-1)!.token).toBe(token);

    ws.user('UANA', { name: 'Ana' });
    const { reply } = await ws.command('UANA', '/balance', '');
    expect(textOf(reply)).toContain('0 tokens');
    const lookups = ws.callsOf('users.info');
    expect(lookups.length).toBeGreaterThan(0);
    expect(lookups.every((call) => call.token === token)).toBe(true);
  });

  it('the user who cancels on the consent screen is told nothing was installed, and nothing is written', async () => {
    const before = await installationRowCounts(h);
    const page = await openInstallPage(h);
    const response = await fetch(`${h.baseUrl}/slack/oauth_redirect?error=access_denied&state=${page.state}`, {
      headers: { cookie: page.cookie },
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('The installation was cancelled in Slack');
    expect(await installationRowCounts(h)).toEqual(before);
  });
});

describe('the OAuth state', () => {
  const refusals = [
    {
      name: 'a made-up state',
      forge: () => ({ state: 'forged-state', cookie: 'slack-app-oauth-state=forged-state' }),
    },
    {
      name: 'a state signed with another secret',
      forge: () => {
        const state = signState(
          { installOptions: { scopes: ['commands'] }, now: new Date().toJSON() },
          'not-our-secret',
        );
        return { state, cookie: `slack-app-oauth-state=${state}` };
      },
    },
    {
      name: 'our own state more than 10 minutes old',
      forge: () => {
        const made = new Date(Date.now() - 11 * 60_000).toJSON();
        const state = signState({ installOptions: { scopes: ['commands'] }, now: made }, stateSecret);
        return { state, cookie: `slack-app-oauth-state=${state}` };
      },
    },
  ];
  for (const refusal of refusals) {
    it(`${refusal.name} is refused with a page saying to start again; no code is exchanged and 0 rows are written`, async () => {
      const before = await installationRowCounts(h);
      const exchangesBefore = h.slack.callsOf('oauth.v2.access').length;
      const code = h.slack.consent({
        teamId: 'TVICTIM',
        isEnterpriseInstall: false,
        installerUserId: 'UATTACKER',
        scope: grantedScopes,
      }).code;
      const answer = await followRedirect(h, { code, ...refusal.forge() });
      expect(answer.status).toBe(400);
      expect(answer.html).toContain(
        'This installation link has expired, was already used, or was opened in another browser',
      );
      expect(answer.html).toContain('href="/slack/install"');
      expect(h.slack.callsOf('oauth.v2.access')).toHaveLength(exchangesBefore);
      expect(await installationRowCounts(h)).toEqual(before);
    });
  }

  it('a genuine state without its cookie (the link opened in another browser) is refused, and 0 rows are written', async () => {
    const before = await installationRowCounts(h);
    const page = await openInstallPage(h);
    const code = h.slack.consent({
      teamId: 'TOTHER',
      isEnterpriseInstall: false,
      installerUserId: 'U1',
      scope: grantedScopes,
    }).code;
    const answer = await followRedirect(h, { code, state: page.state });
    expect(answer.status).toBe(400);
    expect(await installationRowCounts(h)).toEqual(before);
  });

  it('a redirect replayed with the same state and cookie is refused: the code is not exchanged again and 0 rows are written', async () => {
    const { ws, installation } = await installedWorkspace(h, 'Replayed');
    const { redirect } = installation;
    const after = await installationRowCounts(h);
    const exchanges = h.slack.callsOf('oauth.v2.access').length;
    // The replay carries a fresh, valid code: only the redeemed state stops it.
    const code = h.slack.consent({
      teamId: ws.teamId,
      isEnterpriseInstall: false,
      installerUserId: 'U2',
      scope: grantedScopes,
    }).code;
    const replay = await followRedirect(h, { ...redirect, code });
    expect(replay.status).toBe(400);
    expect(h.slack.callsOf('oauth.v2.access')).toHaveLength(exchanges);
    expect(await installationRowCounts(h)).toEqual(after);
  });
});

describe('tokens at rest', () => {
  it('no stored byte, row or log line holds a bot token or the client secret; each installation row only opens with the key', async () => {
    const installed = [await installedWorkspace(h, 'Secret A'), await installedWorkspace(h, 'Secret B')];
    for (const { ws } of installed) {
      ws.user('UADA', { name: 'Ada', is_admin: true });
      ws.user('UMIA', { name: 'Mia' });
      await ws.command('UADA', '/tokens', 'role <@UMIA> manager');
    }
    const secrets = [...installed.map((i) => i.token), fakeSlackApp.clientSecret];
    // Every row of every table, as text.
    const orm = h.allot.deps.ctx.db.orm;
    const tables = rowsOf(
      await orm.execute(sql`SELECT schemaname, tablename FROM pg_tables WHERE schemaname IN ('public', 'drizzle')`),
    ) as { schemaname: string; tablename: string }[];
    let dumped = '';
    for (const { schemaname, tablename } of tables) {
      const rows = rowsOf(await orm.execute(sql.raw(`SELECT t::text AS row FROM "${schemaname}"."${tablename}" t`)));
      dumped += rows.map((row) => (row as { row: string }).row).join('\n');
    }
    expect(dumped).toContain(installed[0]!.ws.teamId);
    for (const secret of secrets) expect(dumped).not.toContain(secret);
    // The database's own files (PGlite's folder), after a checkpoint writes everything out.
    if (!onPostgres) {
      await orm.execute(sql`CHECKPOINT`);
      const files = await filesUnder(h.dataDir!);
      expect(files.length).toBeGreaterThan(10);
      for (const file of files) {
        const bytes = await readFile(file);
        for (const secret of secrets) expect(bytes.includes(Buffer.from(secret)), file).toBe(false);
      }
    }
    // The sealed rows open with the key Allot runs with, and with no other.
    const stored = await orm
      .select()
      .from(slackInstallations)
      .where(
        inArray(
          slackInstallations.teamId,
          installed.map((i) => i.ws.teamId),
        ),
      );
    expect(stored).toHaveLength(2);
    for (const row of stored) {
      const sealed = { keyId: row.keyId, sealed: row.secret };
      const context = sealContextOf(row);
      const key = createKeyRing(parseEncryptionKey(h.env.ALLOT_ENCRYPTION_KEY!)!);
      const opened = open(key, sealed, context);
      expect(opened.ok && JSON.parse(opened.value).bot.token).toBe(
        installed.find((i) => i.ws.teamId === row.teamId)!.token,
      );
      const otherKey = createKeyRing(parseEncryptionKey(newEncryptionKey())!);
      expect(open(otherKey, sealed, context)).toEqual({ ok: false, failure: 'unknown_key' });
      // Even a key that claims the right id does not open it.
      expect(open({ ...otherKey, byId: new Map([[row.keyId, otherKey.current]]) }, sealed, context)).toEqual({
        ok: false,
        failure: 'not_authentic',
      });
    }
    // Debug logs of the installer, Bolt and the Web API client included.
    expect(h.logs.length).toBeGreaterThan(50);
    expect(h.logs.join('')).toContain('oauth.v2.access');
    for (const secret of secrets) expect(h.logs.join('')).not.toContain(secret);
  });

  it('an installation row copied onto another workspace does not open there: that workspace gets no answer', async () => {
    const a = await installedWorkspace(h, 'Original');
    const b = await installedWorkspace(h, 'Target');
    const orm = h.allot.deps.ctx.db.orm;
    await orm.execute(sql`UPDATE slack_installations SET secret = (SELECT secret FROM slack_installations
      WHERE team_id = ${a.ws.teamId}) WHERE team_id = ${b.ws.teamId}`);
    b.ws.user('UANA', { name: 'Ana' });
    await expectCommandUnanswered(b.ws);
    expect(
      h.slack.calls.some((call) => call.token === a.token && JSON.stringify(call.params).includes(b.ws.suffix)),
    ).toBe(false);
    expect(h.logs.join('')).toContain('a Slack installation could not be decrypted');
  });
});

/** Grid and repeated installs of the same workspace keep one row each. */
describe('reinstalling', () => {
  it('installing the same workspace again replaces its token in the same row', async () => {
    const first = await installedWorkspace(h, 'Twice');
    const before = await installationRowCounts(h);
    const again = await install(h, { teamId: first.ws.teamId, teamName: 'Twice' });
    expect((await installationRowCounts(h)).installations).toBe(before.installations);
    const ws = new SlackWorkspace(h, { teamId: first.ws.teamId });
    ws.user('UANA', { name: 'Ana' });
    await ws.command('UANA', '/balance', '');
    expect(ws.callsOf('users.info').at(-1)!.token).toBe(again.token);
  });
});

function rowsOf(result: unknown): unknown[] {
  return Array.isArray(result) ? result : (result as { rows: unknown[] }).rows;
}

async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}
