import path from 'node:path';
import type { Config } from '../config/config';
import { DataDirLockedError } from '../db/data-dir';
import { MigrationFailedError, PostgresTooOldError } from '../db/migrate';

// The one home of what `npm start` and the `allot` CLI say when they cannot start: one line each,
// saying what failed and what to do, and an exit code a process manager can act on.

/** Exit codes of a start that fails. A bug (anything not described here) exits 1 with its stack trace. */
export const startupExitCodes = {
  /** Something around Allot must change: start PostgreSQL, create the database, free the port. */
  environment: 1,
  /** A setting must change: a value in the environment is wrong (one `config:` line per problem). */
  configuration: 2,
  /** DATA_DIR is held by another live Allot process (PGlite serves one process per folder). */
  dataDirLocked: 3,
} as const;

export interface StartupFailure {
  /** One line, no stack trace: what failed, then what to do. */
  message: string;
  exitCode: (typeof startupExitCodes)[keyof typeof startupExitCodes];
}

export type StartupSettings = Pick<Config, 'DATABASE_URL' | 'DATA_DIR' | 'HOST' | 'PORT'>;

/**
 * What a failed start means for the operator, or undefined when the error is not one of the known
 * failures (then it is a bug: show the stack trace). Looks through `cause` chains, since drizzle wraps
 * the driver's errors. Codes: Node's system errors (ECONNREFUSED, EADDRINUSE, …), postgres.js's
 * CONNECT_TIMEOUT, and PostgreSQL's SQLSTATE (3D000 invalid_catalog_name, 28P01 invalid_password, …,
 * from https://www.postgresql.org/docs/current/errcodes-appendix.html).
 */
export function describeStartupFailure(error: unknown, settings: StartupSettings): StartupFailure | undefined {
  const chain = causeChain(error);
  const locked = chain.find((item) => item instanceof DataDirLockedError);
  if (locked) return { message: oneLine(locked.message), exitCode: startupExitCodes.dataDirLocked };

  const code = chain.map(codeOf).find((item) => item !== undefined);
  const database = settings.DATABASE_URL ? postgresEndpoint(settings.DATABASE_URL) : undefined;
  if (database && code) {
    const failure = describeDatabaseFailure(code, database, chain);
    if (failure) return failure;
  }

  const tooOld = chain.find((item) => item instanceof PostgresTooOldError);
  if (tooOld && database) {
    return {
      message:
        `PostgreSQL at ${database.address} is version ${tooOld.serverVersion}; Allot needs 15 or later ` +
        '(its schema uses UNIQUE NULLS NOT DISTINCT). Upgrade that server, or point DATABASE_URL at a newer one.',
      exitCode: startupExitCodes.environment,
    };
  }

  // Listening fails in listen() itself, or before it when HOST is a name that does not resolve
  // (getaddrinfo for that very name; a DATABASE_URL host that does not resolve names another host).
  const listening = chain.find((item) => {
    const { syscall, hostname } = item as { syscall?: unknown; hostname?: unknown };
    return syscall === 'listen' || (syscall === 'getaddrinfo' && hostname === settings.HOST);
  });
  if (listening) {
    const failure = describeListenFailure(codeOf(listening), settings);
    if (failure) return failure;
  }

  const migration = chain.find((item) => item instanceof MigrationFailedError);
  if (migration) {
    const cause = chain[chain.indexOf(migration) + 1];
    const reason = cause instanceof Error ? cause.message : String(migration.cause);
    const sqlState = codeOf(cause);
    return {
      message: oneLine(
        `Migration ${migration.migration} failed: ${reason}${sqlState ? ` (${sqlState})` : ''}. ` +
          'Nothing of it was applied (pending migrations run in one transaction): fix the cause, or restore ' +
          'the backup you took before upgrading, then start again.',
      ),
      exitCode: startupExitCodes.environment,
    };
  }

  if (!settings.DATABASE_URL && code) {
    const failure = describeDataDirFailure(code, chain, settings.DATA_DIR);
    if (failure) return failure;
  }
  return undefined;
}

interface PostgresEndpoint {
  /** host:port as the operator wrote it in DATABASE_URL (or a Unix socket folder). */
  address: string;
  database: string;
}

/** Where DATABASE_URL points, for messages: postgres.js's defaults are localhost, 5432, the user's name. */
function postgresEndpoint(url: string): PostgresEndpoint {
  try {
    const parsed = new URL(url);
    const socketFolder = parsed.searchParams.get('host');
    const address = socketFolder ?? `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}`;
    const database = decodeURIComponent(parsed.pathname.slice(1)) || decodeURIComponent(parsed.username) || 'postgres';
    return { address, database };
  } catch {
    return { address: 'DATABASE_URL', database: 'the database' };
  }
}

function describeDatabaseFailure(
  code: string,
  { address, database }: PostgresEndpoint,
  chain: unknown[],
): StartupFailure | undefined {
  const environment = (message: string): StartupFailure => ({ message, exitCode: startupExitCodes.environment });
  const configuration = (message: string): StartupFailure => ({ message, exitCode: startupExitCodes.configuration });
  const serverSays = () => {
    const reported = chain.find((item) => item instanceof Error && codeOf(item) === code) as Error | undefined;
    return reported?.message ?? code;
  };
  switch (code) {
    case '3D000':
      return environment(
        `The database "${database}" does not exist on the PostgreSQL server at ${address}. ` +
          `Create it with: createdb ${shellWord(database)} (or correct the name in DATABASE_URL).`,
      );
    case 'ECONNREFUSED':
      return environment(
        `Cannot connect to PostgreSQL at ${address}: connection refused. ` +
          'Is PostgreSQL running, and are the host and port in DATABASE_URL right?',
      );
    case 'CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return environment(
        `Cannot connect to PostgreSQL at ${address}: no answer (connection timed out). ` +
          'Is PostgreSQL running, and can this machine reach that host and port (firewall, DATABASE_URL)?',
      );
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return environment(
        `Cannot connect to PostgreSQL at ${address}: the host is unreachable from this machine. ` +
          'Is PostgreSQL running there, and is the host in DATABASE_URL right?',
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return environment(
        `Cannot connect to PostgreSQL at ${address}: the host name does not resolve. ` +
          "Correct the host in DATABASE_URL (or check this machine's DNS).",
      );
    case 'ENOENT':
      // A Unix socket path that is not there: the server is not running, or listens elsewhere.
      return chain.some((item) => (item as { syscall?: unknown }).syscall === 'connect')
        ? environment(
            `Cannot connect to PostgreSQL at ${address}: no server socket there. Is PostgreSQL running, and is the host in DATABASE_URL right?`,
          )
        : undefined;
    case '28P01':
    case '28000':
      return configuration(
        `PostgreSQL at ${address} refused the login: ${oneLine(serverSays())}. ` +
          "Correct the user name or password in DATABASE_URL (or the server's pg_hba.conf).",
      );
    case '53300':
      return environment(
        `PostgreSQL at ${address} has no free connection slots (too many connections). ` +
          'Close other clients or raise max_connections, then start again.',
      );
    case '57P03':
      return environment(`PostgreSQL at ${address} is starting up or shutting down. Start again in a moment.`);
    default:
      return undefined;
  }
}

function describeListenFailure(code: string | undefined, { HOST, PORT }: StartupSettings): StartupFailure | undefined {
  switch (code) {
    case 'EADDRINUSE':
      return {
        message:
          `Port ${PORT} is already in use on ${HOST} (another Allot, or another program). ` +
          `Stop that program, or start Allot on another port: PORT=${PORT === 3000 ? 3001 : 3000} npm start`,
        exitCode: startupExitCodes.environment,
      };
    case 'EACCES':
      return {
        message:
          `Not allowed to listen on port ${PORT} (ports below 1024 need privileges). ` +
          'Choose a port from 1024 up with PORT=…, and let a reverse proxy serve 80 and 443.',
        exitCode: startupExitCodes.configuration,
      };
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return {
        message:
          `Cannot listen on HOST=${HOST}: it is not an address of this machine. ` +
          'Set HOST to one of its addresses, to 0.0.0.0 (every interface) or to 127.0.0.1 (this machine only).',
        exitCode: startupExitCodes.configuration,
      };
    default:
      return undefined;
  }
}

const fileSystemReasons: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a file is in the way where a folder should be',
  EEXIST: 'a file is in the way where a folder should be',
  ENOSPC: 'no space left on the device',
};

function describeDataDirFailure(code: string, chain: unknown[], dataDir: string): StartupFailure | undefined {
  const reason = fileSystemReasons[code];
  const root = path.resolve(dataDir);
  const failedPath = chain.map((item) => (item as { path?: unknown }).path).find((item) => typeof item === 'string');
  if (!reason || typeof failedPath !== 'string') return undefined;
  const inside = path.resolve(failedPath);
  if (inside !== root && !inside.startsWith(`${root}${path.sep}`) && !root.startsWith(`${inside}${path.sep}`)) {
    return undefined;
  }
  return {
    message:
      `Cannot use DATA_DIR ${root}: ${reason} (${code} on ${inside}). ` +
      'Choose a folder Allot may write to with DATA_DIR=…, or fix its permissions.',
    exitCode: startupExitCodes.environment,
  };
}

/** The error and its causes, outermost first (an AggregateError's first error counts as its cause). */
function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && !chain.includes(current) && chain.length < 10) {
    chain.push(current);
    const next = (current as { cause?: unknown }).cause;
    current = next ?? (current instanceof AggregateError ? current.errors[0] : undefined);
  }
  return chain;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.length > 0 ? code : undefined;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** A database name as a shell word: bare when safe, else single-quoted. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_.-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}
