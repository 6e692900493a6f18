import { isIP } from 'node:net';
import { z } from 'zod';
import { resolveFromProjectRoot } from '../lib/project';
import { parseEncryptionKey } from '../lib/secret-box';

// The only reader of process.env. Every key has a doc, a default where one makes sense, and its
// environment name; a bad value ends start-up with one line per problem naming the variable.

const emptyToUndefined = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);
const optionalString = z.preprocess(emptyToUndefined, z.string().optional());

/**
 * A number read from the environment, with one message saying what to type for any mistake (not a
 * number, a fraction where a whole one is needed, out of range), instead of zod's own words.
 */
function numberIn(message: string, bounds: { int?: boolean; min?: number; above?: number; max: number }) {
  let schema = z.coerce.number({ error: message }).refine(Number.isFinite, { error: message });
  if (bounds.int) schema = schema.refine(Number.isInteger, { error: message });
  const { min, above, max } = bounds;
  return schema.refine(
    (value) => (min === undefined || value >= min) && (above === undefined || value > above) && value <= max,
    { error: message },
  );
}

/** A comma-separated list (blanks and empty entries dropped), each entry checked by `item`, at most `maxEntries`; unset is empty. */
function commaList<T extends z.ZodType<unknown, string>>(item: T, maxEntries?: number) {
  return z.preprocess(
    emptyToUndefined,
    z
      .string()
      .default('')
      .transform((value) =>
        value
          .split(',')
          .map((entry) => entry.trim())
          .filter((entry) => entry.length > 0),
      )
      .pipe(maxEntries === undefined ? z.array(item) : z.array(item).max(maxEntries)),
  );
}

const trueOrFalse = (fallback: 'true' | 'false') =>
  z
    .enum(['true', 'false'])
    .default(fallback)
    .transform((value) => value === 'true');
/** A host name as an operator types one for a listening address (letters, digits, dots, hyphens). */
const hostNamePattern =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

const encryptionKeyProblem = 'must be 32 random bytes in base64, e.g. the output of: openssl rand -base64 32';
/** An AES-256 key as operators write it (base64 of 32 bytes), read into its bytes. */
const encryptionKey = z
  .string()
  .trim()
  .refine((value) => parseEncryptionKey(value) !== undefined, encryptionKeyProblem)
  .transform((value) => parseEncryptionKey(value)!);
/** Shortest SLACK_STATE_SECRET accepted: it signs the OAuth state, so it must not be guessable. */
export const slackStateSecretLengthMin = 20;
/** True for `https://host[:port]` or `http://host[:port]`, with at most a trailing slash: the dashboard's origin. */
function isDashboardOrigin(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  const bare = url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password;
  return (url.protocol === 'https:' || url.protocol === 'http:') && bare;
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const appTypes = ['MultiTenant', 'SingleTenant', 'UserAssignedMSI'] as const;

export const configSchema = z.object({
  /** Postgres connection URL; absent means embedded PGlite under DATA_DIR. */
  DATABASE_URL: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  /**
   * Folder of the embedded PGlite database (used only without DATABASE_URL), made absolute: a relative
   * path is read against the project root (the folder of Allot's package.json), never the working
   * directory, so the server and the CLI started from anywhere open the same database.
   */
  DATA_DIR: z.preprocess(emptyToUndefined, z.string().default('./data').transform(resolveFromProjectRoot)),
  /** HTTP port for Slack, Teams, the usage API, health and metrics. */
  PORT: z.preprocess(
    emptyToUndefined,
    numberIn('must be a whole port number from 0 (any free port) to 65535, e.g. PORT=3000', {
      int: true,
      min: 0,
      max: 65535,
    }).default(3000),
  ),
  /**
   * Address the HTTP server listens on: 0.0.0.0 (every IPv4 interface, the default), 127.0.0.1 (this
   * machine only, e.g. behind a reverse proxy on the same host), :: (IPv4 and IPv6), or a host name.
   */
  HOST: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .trim()
      .refine(
        (value) => isIP(value) !== 0 || hostNamePattern.test(value),
        'must be an IP address (0.0.0.0, 127.0.0.1, ::) or a host name',
      )
      .default('0.0.0.0'),
  ),
  /** pino log level. */
  LOG_LEVEL: z.preprocess(emptyToUndefined, z.enum(logLevels).default('info')),
  /** Comma-separated emails or slack:U… / teams:<id> ids that are always admins. */
  ALLOT_ADMINS: commaList(
    z
      .string()
      .regex(
        /^(slack:[A-Z0-9]+|teams:[0-9a-fA-F-]{36}|[^@\s]+@[^@\s]+\.[^@\s]+)$/,
        'each entry must be an email, slack:U… or teams:<Entra object id>',
      ),
  ),
  /** Slack signing secret (HTTP mode) from the app's Basic Information page. */
  SLACK_SIGNING_SECRET: optionalString,
  /** Slack bot token, xoxb-… */
  SLACK_BOT_TOKEN: z.preprocess(emptyToUndefined, z.string().startsWith('xoxb-', 'must start with xoxb-').optional()),
  /** Slack app-level token, xapp-…; when set Allot connects through Socket Mode. */
  SLACK_APP_TOKEN: z.preprocess(emptyToUndefined, z.string().startsWith('xapp-', 'must start with xapp-').optional()),
  /** Base URL of the Slack Web API (tests point it at a local fake). */
  SLACK_API_URL: z.preprocess(emptyToUndefined, z.url().default('https://slack.com/api/')),
  /**
   * Slack app client id (Basic Information). Set, Allot is installed to workspaces through OAuth
   * (GET /slack/install) and each workspace's bot token comes from its stored installation, in place of
   * SLACK_BOT_TOKEN. Needs SLACK_CLIENT_SECRET, SLACK_STATE_SECRET and ALLOT_ENCRYPTION_KEY.
   */
  SLACK_CLIENT_ID: optionalString,
  /** Slack app client secret (Basic Information), for oauth.v2.access. */
  SLACK_CLIENT_SECRET: optionalString,
  /** Signs the OAuth state parameter of an installation (random, at least 20 characters). */
  SLACK_STATE_SECRET: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .min(
        slackStateSecretLengthMin,
        `must be at least ${slackStateSecretLengthMin} random characters, e.g. the output of: openssl rand -hex 32`,
      )
      .optional(),
  ),
  /** Encrypts stored secrets (Slack bot tokens): 32 bytes in base64; its id is stored beside each value. */
  ALLOT_ENCRYPTION_KEY: z.preprocess(emptyToUndefined, encryptionKey.optional()),
  /**
   * Earlier encryption keys, comma-separated, still able to open what they sealed while `allot keys
   * rotate` re-encrypts it under ALLOT_ENCRYPTION_KEY. Remove them once the rotation is done.
   */
  ALLOT_PREVIOUS_ENCRYPTION_KEYS: commaList(encryptionKey, 10),
  /** Hours a top-up request waits for a decision before it expires. */
  APPROVAL_EXPIRY_HOURS: z.preprocess(
    emptyToUndefined,
    numberIn('must be a number of hours above 0 and at most 8760 (a year), e.g. 72', { above: 0, max: 8760 }).default(
      72,
    ),
  ),
  /** A replica that was down when a digest was due posts it when it starts, if it is at most this many hours late. */
  DIGEST_CATCH_UP_HOURS: z.preprocess(
    emptyToUndefined,
    numberIn('must be a number of hours from 0 to 168 (a week), e.g. 12', { min: 0, max: 168 }).default(12),
  ),
  /** Whether this replica runs schedules (digests, allowances); several replicas may, each slot runs once. */
  SCHEDULER_ENABLED: z.preprocess(emptyToUndefined, trueOrFalse('true')),
  /**
   * Microsoft app (bot) id. Absent: POST /api/messages answers 401, unless TEAMS_ALLOW_UNAUTHENTICATED
   * lets unauthenticated activities in from loopback addresses.
   */
  MICROSOFT_APP_ID: optionalString,
  MICROSOFT_APP_PASSWORD: optionalString,
  MICROSOFT_APP_TENANT_ID: optionalString,
  MICROSOFT_APP_TYPE: z.preprocess(emptyToUndefined, z.enum(appTypes).default('SingleTenant')),
  /**
   * Without MICROSOFT_APP_ID: true accepts unauthenticated Teams activities from loopback addresses only
   * (127.0.0.0/8, ::1), for the Agents Playground, the Bot Framework Emulator and tests on this machine;
   * false (the default) answers 401. Ignored when MICROSOFT_APP_ID is set.
   */
  TEAMS_ALLOW_UNAUTHENTICATED: z.preprocess(emptyToUndefined, trueOrFalse('false')),
  /**
   * Public base URL of the web dashboard, as people's browsers reach it (e.g. https://allot.acme.com):
   * sign-in links are built on it and requests that change something must come from it (Origin).
   * Unset: the dashboard is off and `/tokens dashboard` says what to set. An origin only (no path):
   * the dashboard's pages live under /dashboard of that origin.
   */
  DASHBOARD_URL: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .trim()
      .refine(isDashboardOrigin, 'must be an http:// or https:// origin with no path, like https://allot.acme.com')
      .transform((value) => new URL(value).origin)
      .optional(),
  ),
  /** Low-balance alert thresholds, in percent left of what a wallet received this month (overage always alerts). */
  LOW_BALANCE_ALERT_PERCENTS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .default('20,5')
      .transform((value) =>
        value
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item.length > 0)
          .map(Number),
      )
      .pipe(z.array(z.number().int('each entry must be a whole percent').min(1).max(99)).max(5)),
  ),
});

export type Config = z.infer<typeof configSchema>;

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

export function parseConfig(env: Record<string, string | undefined>): ConfigResult {
  const parsed = configSchema.safeParse(env);
  if (parsed.success) {
    const problems = crossFieldProblems(parsed.data);
    return problems.length === 0 ? { ok: true, config: parsed.data } : { ok: false, problems };
  }
  // One line per problem, starting with the variable's name (a list's bad entry is counted from 1).
  const problems = parsed.error.issues.map((issue) => {
    const [variable, ...rest] = issue.path;
    const entry = typeof rest[0] === 'number' ? ` (entry ${rest[0] + 1})` : '';
    return `${String(variable ?? 'environment')}: ${issue.message}${entry}`;
  });
  return { ok: false, problems };
}

function crossFieldProblems(config: Config): string[] {
  const problems = slackProblems(config);
  if (config.MICROSOFT_APP_ID && config.MICROSOFT_APP_TYPE !== 'UserAssignedMSI' && !config.MICROSOFT_APP_PASSWORD) {
    problems.push('MICROSOFT_APP_PASSWORD: required with MICROSOFT_APP_ID unless MICROSOFT_APP_TYPE=UserAssignedMSI');
  }
  if (config.MICROSOFT_APP_ID && config.MICROSOFT_APP_TYPE !== 'MultiTenant' && !config.MICROSOFT_APP_TENANT_ID) {
    problems.push(`MICROSOFT_APP_TENANT_ID: required when MICROSOFT_APP_TYPE=${config.MICROSOFT_APP_TYPE}`);
  }
  if (config.ALLOT_PREVIOUS_ENCRYPTION_KEYS.length > 0 && !config.ALLOT_ENCRYPTION_KEY) {
    problems.push('ALLOT_ENCRYPTION_KEY: required with ALLOT_PREVIOUS_ENCRYPTION_KEYS (the key values move to)');
  }
  return problems;
}

/**
 * How Allot serves Slack: not at all, one workspace with SLACK_BOT_TOKEN, or every workspace that
 * installs the app through OAuth (SLACK_CLIENT_ID), each with its own stored token.
 */
export type SlackMode = 'off' | 'single_workspace' | 'distributed';

export function slackModeOf(config: Pick<Config, 'SLACK_BOT_TOKEN' | 'SLACK_CLIENT_ID'>): SlackMode {
  if (config.SLACK_CLIENT_ID) return 'distributed';
  return config.SLACK_BOT_TOKEN ? 'single_workspace' : 'off';
}

function slackProblems(config: Config): string[] {
  const problems: string[] = [];
  const mode = slackModeOf(config);
  if (mode !== 'off' && !config.SLACK_APP_TOKEN && !config.SLACK_SIGNING_SECRET) {
    const by = mode === 'distributed' ? 'SLACK_CLIENT_ID' : 'SLACK_BOT_TOKEN';
    problems.push(`SLACK_SIGNING_SECRET: required with ${by} in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)`);
  }
  if ((config.SLACK_SIGNING_SECRET || config.SLACK_APP_TOKEN) && mode === 'off') {
    problems.push(
      'SLACK_BOT_TOKEN: required when SLACK_SIGNING_SECRET or SLACK_APP_TOKEN is set ' +
        '(or SLACK_CLIENT_ID, to install Allot to several workspaces)',
    );
  }
  if (mode === 'distributed') {
    if (config.SLACK_BOT_TOKEN) {
      problems.push(
        'SLACK_BOT_TOKEN: not used with SLACK_CLIENT_ID (each workspace gets its token by installing Allot at ' +
          '/slack/install); remove it',
      );
    }
    if (!config.SLACK_CLIENT_SECRET) problems.push('SLACK_CLIENT_SECRET: required with SLACK_CLIENT_ID');
    if (!config.SLACK_STATE_SECRET) problems.push('SLACK_STATE_SECRET: required with SLACK_CLIENT_ID');
    if (!config.ALLOT_ENCRYPTION_KEY) {
      problems.push('ALLOT_ENCRYPTION_KEY: required with SLACK_CLIENT_ID (it encrypts the stored bot tokens)');
    }
  } else {
    for (const name of ['SLACK_CLIENT_SECRET', 'SLACK_STATE_SECRET'] as const) {
      if (config[name]) problems.push(`SLACK_CLIENT_ID: required when ${name} is set`);
    }
  }
  return problems;
}

/** Reads process.env once; the rest of the code receives a Config. */
export function loadConfigFromProcessEnv(): ConfigResult {
  return parseConfig(process.env);
}

/**
 * The environment for a program Allot starts (pg_dump, pg_restore): this process's own, with `extra`
 * on top (e.g. PGPASSWORD, kept out of the program's arguments).
 */
export function childProcessEnvironment(extra: Record<string, string>): Record<string, string | undefined> {
  return { ...process.env, ...extra };
}
