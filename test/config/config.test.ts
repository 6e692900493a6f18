import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, slackModeOf } from '../../src/config/config';
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

  describe('Slack distribution (SLACK_CLIENT_ID)', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const distribution = {
      SLACK_CLIENT_ID: '1111.2222',
      SLACK_CLIENT_SECRET: 'client-secret',
      SLACK_STATE_SECRET: 'state-secret-of-twenty-chars',
      SLACK_SIGNING_SECRET: 'signing',
      ALLOT_ENCRYPTION_KEY: key,
    };

    it('the four variables with a signing secret turn distribution on; the key is read into its 32 bytes', () => {
      const parsed = parseConfig(distribution);
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) return;
      expect(slackModeOf(parsed.config)).toBe('distributed');
      expect(parsed.config.ALLOT_ENCRYPTION_KEY).toEqual(Buffer.alloc(32, 7));
      expect(parsed.config.ALLOT_PREVIOUS_ENCRYPTION_KEYS).toEqual([]);
      expect(slackModeOf({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_CLIENT_ID: undefined })).toBe('single_workspace');
      expect(slackModeOf({ SLACK_BOT_TOKEN: undefined, SLACK_CLIENT_ID: undefined })).toBe('off');
    });

    it('Socket Mode takes the place of the signing secret, as in single-workspace mode', () => {
      const { SLACK_SIGNING_SECRET: _signing, ...socket } = distribution;
      expect(parseConfig({ ...socket, SLACK_APP_TOKEN: 'xapp-1' }).ok).toBe(true);
      expect(problemsOf(socket)).toEqual([
        'SLACK_SIGNING_SECRET: required with SLACK_CLIENT_ID in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)',
      ]);
    });

    it.each(['SLACK_CLIENT_SECRET', 'SLACK_STATE_SECRET', 'ALLOT_ENCRYPTION_KEY'] as const)(
      'without %s, start-up stops and names it',
      (variable) => {
        const problems = problemsOf({ ...distribution, [variable]: '' });
        expect(problems).toHaveLength(1);
        expect(problems[0]).toMatch(new RegExp(`^${variable}: required with SLACK_CLIENT_ID`));
      },
    );

    it('SLACK_BOT_TOKEN beside SLACK_CLIENT_ID is refused: tokens come from each installation', () => {
      expect(problemsOf({ ...distribution, SLACK_BOT_TOKEN: 'xoxb-1' })).toEqual([
        'SLACK_BOT_TOKEN: not used with SLACK_CLIENT_ID (each workspace gets its token by installing Allot at ' +
          '/slack/install); remove it',
      ]);
    });

    it('a client secret or state secret without a client id is a forgotten SLACK_CLIENT_ID', () => {
      expect(problemsOf({ SLACK_CLIENT_SECRET: 'x', SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' })).toEqual([
        'SLACK_CLIENT_ID: required when SLACK_CLIENT_SECRET is set',
      ]);
    });

    it.each([
      ['31 bytes', Buffer.alloc(31, 1).toString('base64')],
      ['33 bytes', Buffer.alloc(33, 1).toString('base64')],
      ['hex instead of base64', Buffer.alloc(32, 1).toString('hex')],
      ['base64url characters', Buffer.alloc(32, 0xfb).toString('base64url')],
      ['a passphrase', 'correct horse battery staple'],
    ])('an encryption key of %s is refused with the command that makes a good one', (_what, value) => {
      expect(problemsOf({ ...distribution, ALLOT_ENCRYPTION_KEY: value })).toEqual([
        'ALLOT_ENCRYPTION_KEY: must be 32 random bytes in base64, e.g. the output of: openssl rand -base64 32',
      ]);
    });

    it('previous keys are a comma-separated list, a bad one named by its position, and need a current key', () => {
      const previous = Buffer.alloc(32, 9).toString('base64');
      expect(parseConfig({ ...distribution, ALLOT_PREVIOUS_ENCRYPTION_KEYS: ` ${previous} , ${key}` })).toMatchObject({
        ok: true,
        config: { ALLOT_PREVIOUS_ENCRYPTION_KEYS: [Buffer.alloc(32, 9), Buffer.alloc(32, 7)] },
      });
      expect(problemsOf({ ...distribution, ALLOT_PREVIOUS_ENCRYPTION_KEYS: `${previous},oops` })).toEqual([
        'ALLOT_PREVIOUS_ENCRYPTION_KEYS: must be 32 random bytes in base64, e.g. the output of: openssl rand -base64 32 (entry 2)',
      ]);
      expect(problemsOf({ ALLOT_PREVIOUS_ENCRYPTION_KEYS: previous })).toEqual([
        'ALLOT_ENCRYPTION_KEY: required with ALLOT_PREVIOUS_ENCRYPTION_KEYS (the key values move to)',
      ]);
    });

    it('a short state secret is refused', () => {
      expect(problemsOf({ ...distribution, SLACK_STATE_SECRET: 'short' })).toEqual([
        'SLACK_STATE_SECRET: must be at least 20 random characters, e.g. the output of: openssl rand -hex 32',
      ]);
    });
  });
});
