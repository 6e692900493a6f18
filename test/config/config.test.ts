import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config';
import { repoRoot } from '../start/spawn';

function problemsOf(env: Record<string, string>): string[] {
  const parsed = parseConfig(env);
  if (parsed.ok) throw new Error('expected the configuration to be refused');
  return parsed.problems;
}

describe('configuration from the environment', () => {
  it('an empty environment starts Allot on PGlite under ./data on port 3000, with no chat platform', () => {
    const parsed = parseConfig({});
    expect(parsed).toMatchObject({
      ok: true,
      config: {
        DATA_DIR: path.join(repoRoot, 'data'),
        HOST: '0.0.0.0',
        PORT: 3000,
        LOG_LEVEL: 'info',
        ALLOT_ADMINS: [],
        SLACK_API_URL: 'https://slack.com/api/',
        MICROSOFT_APP_TYPE: 'SingleTenant',
        TEAMS_ALLOW_UNAUTHENTICATED: false,
      },
    });
    if (!parsed.ok) return;
    for (const unset of [
      'DATABASE_URL',
      'SLACK_BOT_TOKEN',
      'SLACK_SIGNING_SECRET',
      'SLACK_APP_TOKEN',
      'MICROSOFT_APP_ID',
      'DASHBOARD_URL',
    ]) {
      expect(parsed.config[unset as keyof typeof parsed.config]).toBeUndefined();
    }
  });

  it('a relative DATA_DIR is read against the project root, whatever the working directory; an absolute one is kept', () => {
    const cwd = process.cwd();
    try {
      process.chdir(path.join(repoRoot, 'src', 'cli'));
      expect(parseConfig({ DATA_DIR: 'var/allot' })).toMatchObject({
        ok: true,
        config: { DATA_DIR: path.join(repoRoot, 'var', 'allot') },
      });
      expect(parseConfig({ DATA_DIR: '../allot-data' })).toMatchObject({
        ok: true,
        config: { DATA_DIR: path.join(path.dirname(repoRoot), 'allot-data') },
      });
    } finally {
      process.chdir(cwd);
    }
    expect(parseConfig({ DATA_DIR: '/srv/allot/data' })).toMatchObject({
      ok: true,
      config: { DATA_DIR: '/srv/allot/data' },
    });
  });

  it('empty strings count as unset, as a blank line in an .env file means', () => {
    const parsed = parseConfig({ DATABASE_URL: '', PORT: ' ', SLACK_BOT_TOKEN: '' });
    expect(parsed).toMatchObject({ ok: true, config: { DATABASE_URL: undefined, PORT: 3000 } });
  });

  it('admins are read from a comma-separated list of emails and platform ids', () => {
    const parsed = parseConfig({
      ALLOT_ADMINS: ' ana@example.com, slack:U012ABC ,teams:0f8fad5b-d9cb-469f-a165-70867728950e,',
    });
    expect(parsed).toMatchObject({
      ok: true,
      config: { ALLOT_ADMINS: ['ana@example.com', 'slack:U012ABC', 'teams:0f8fad5b-d9cb-469f-a165-70867728950e'] },
    });
  });

  it('a full Slack and Teams setup is accepted', () => {
    const parsed = parseConfig({
      DATABASE_URL: 'postgresql://allot@db:5432/allot',
      PORT: '8080',
      SLACK_SIGNING_SECRET: 'secret',
      SLACK_BOT_TOKEN: 'xoxb-1',
      MICROSOFT_APP_ID: 'app',
      MICROSOFT_APP_PASSWORD: 'pw',
      MICROSOFT_APP_TENANT_ID: 'tenant',
    });
    expect(parsed).toMatchObject({
      ok: true,
      config: { PORT: 8080, DATABASE_URL: 'postgresql://allot@db:5432/allot' },
    });
  });

  it.each([
    ['DATABASE_URL', { DATABASE_URL: 'mysql://db/allot' }],
    ['PORT', { PORT: 'eighty' }],
    ['PORT', { PORT: '70000' }],
    ['PORT', { PORT: '30.5' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['ALLOT_ADMINS', { ALLOT_ADMINS: 'ana@example.com,bob' }],
    ['SLACK_BOT_TOKEN', { SLACK_BOT_TOKEN: 'xoxp-user', SLACK_SIGNING_SECRET: 's' }],
    ['SLACK_APP_TOKEN', { SLACK_APP_TOKEN: 'xoxb-wrong', SLACK_BOT_TOKEN: 'xoxb-1' }],
    ['SLACK_API_URL', { SLACK_API_URL: 'not a url' }],
    ['MICROSOFT_APP_TYPE', { MICROSOFT_APP_TYPE: 'Personal' }],
    ['SLACK_SIGNING_SECRET', { SLACK_BOT_TOKEN: 'xoxb-1' }],
    ['SLACK_BOT_TOKEN', { SLACK_SIGNING_SECRET: 'secret' }],
    ['MICROSOFT_APP_PASSWORD', { MICROSOFT_APP_ID: 'app', MICROSOFT_APP_TENANT_ID: 'tenant' }],
    ['MICROSOFT_APP_TENANT_ID', { MICROSOFT_APP_ID: 'app', MICROSOFT_APP_PASSWORD: 'pw' }],
    ['HOST', { HOST: 'not a host' }],
    ['HOST', { HOST: 'http://0.0.0.0' }],
    ['HOST', { HOST: '0.0.0.0:3000' }],
    ['TEAMS_ALLOW_UNAUTHENTICATED', { TEAMS_ALLOW_UNAUTHENTICATED: 'yes' }],
  ])('a bad %s is one problem, on one line, naming the variable', (variable, env) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.startsWith(`${variable}: `)).toBe(true);
    expect(problems[0]).not.toContain('\n');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '30.5'],
    ['APPROVAL_EXPIRY_HOURS', '0'],
    ['DIGEST_CATCH_UP_HOURS', 'soon'],
  ])('a numeric %s of %j says what to type, in words, not in the validator’s', (variable, value) => {
    const [problem] = problemsOf({ [variable]: value });
    expect(problem).toMatch(new RegExp(`^${variable}: must be a (whole port )?number .*, e\\.g\\. `));
    expect(problem).not.toMatch(/Invalid input|expected number|Too big|NaN/);
  });

  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::', '::'],
    ['::1', '::1'],
    ['localhost', 'localhost'],
    [' allot.internal ', 'allot.internal'],
  ])('HOST %j listens on %s', (value, expected) => {
    expect(parseConfig({ HOST: value })).toMatchObject({ ok: true, config: { HOST: expected } });
  });

  it('unauthenticated Teams activities are an explicit opt-in: only the word true turns it on', () => {
    expect(parseConfig({ TEAMS_ALLOW_UNAUTHENTICATED: 'true' })).toMatchObject({
      ok: true,
      config: { TEAMS_ALLOW_UNAUTHENTICATED: true },
    });
    expect(parseConfig({ TEAMS_ALLOW_UNAUTHENTICATED: 'false' })).toMatchObject({
      ok: true,
      config: { TEAMS_ALLOW_UNAUTHENTICATED: false },
    });
    expect(parseConfig({ TEAMS_ALLOW_UNAUTHENTICATED: '' })).toMatchObject({
      ok: true,
      config: { TEAMS_ALLOW_UNAUTHENTICATED: false },
    });
  });

  it('DASHBOARD_URL is the origin the dashboard is reached at: a trailing slash is dropped, a path refused', () => {
    expect(parseConfig({ DASHBOARD_URL: 'https://allot.acme.com/' })).toMatchObject({
      ok: true,
      config: { DASHBOARD_URL: 'https://allot.acme.com' },
    });
    expect(parseConfig({ DASHBOARD_URL: 'http://127.0.0.1:3000' })).toMatchObject({
      ok: true,
      config: { DASHBOARD_URL: 'http://127.0.0.1:3000' },
    });
    const expected = 'DASHBOARD_URL: must be an http:// or https:// origin with no path, like https://allot.acme.com';
    for (const bad of [
      'allot.acme.com',
      'https://allot.acme.com/dashboard',
      'ftp://allot.acme.com',
      'https://x@allot.acme.com',
      'https://allot.acme.com/?a=1',
    ]) {
      expect(problemsOf({ DASHBOARD_URL: bad }), bad).toEqual([expected]);
    }
  });

  it('a bad entry in the admins list is named by its position', () => {
    expect(problemsOf({ ALLOT_ADMINS: 'ana@example.com,bob' })).toEqual([
      'ALLOT_ADMINS: each entry must be an email, slack:U… or teams:<Entra object id> (entry 2)',
    ]);
  });

  it('several bad values give one line each', () => {
    const problems = problemsOf({ PORT: '-1', LOG_LEVEL: 'loud', DATABASE_URL: 'sqlite://x' });
    expect(problems.map((problem) => problem.split(':')[0]).sort()).toEqual(['DATABASE_URL', 'LOG_LEVEL', 'PORT']);
  });
});
