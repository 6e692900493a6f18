import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { describeStartupFailure, type StartupSettings } from '../app/startup-failures';
import { type Config, loadConfigFromProcessEnv } from '../config/config';
import { createDatabase, type Database, describeLocation } from '../db/client';
import { DataDirLockedError, dataDirOwner } from '../db/data-dir';
import { applyMigrations, migrationStatus } from '../db/migrate';
import { pgliteSocketPath } from '../db/pglite-socket';
import { createPgliteSocketDatabase } from '../db/postgres';
import { type AfterAmount, amountHelp, parseAmount, readLeadingAmount } from '../ledger/amount.models';
import { idempotencyKeyLengthMax } from '../ledger/ledger.models';
import { systemClock } from '../lib/clock';
import type { Ctx } from '../lib/context';
import { parseInstantInput } from '../lib/date-input.models';
import { type ExpiryInput, parseExpiryInput } from '../lib/expiry.models';
import type { Member, Organisation } from '../members/members.repository';
import * as membersRepo from '../members/members.repository';

/** A CLI failure: printed as one line to stderr, exit code 1 (2 for usage errors). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The environment's configuration; a bad one ends the command with one line per problem (exit 2). */
export function loadCliConfig(): Config {
  const parsed = loadConfigFromProcessEnv();
  if (!parsed.ok) throw new CliError(parsed.problems.map((problem) => `config: ${problem}`).join('\n'), 2);
  return parsed.config;
}

/** Settings every command shares, from the program's own options (`--verbose`). */
export const cliSettings = { verbose: false };

/**
 * How long the CLI waits, when a live process holds DATA_DIR without a socket, for the socket (a server
 * starting: migrations come first) or for the folder to be free (another CLI command finishing).
 */
const serverSocketWaitMs = 20_000;

export interface CliOpenOptions {
  /** Apply pending migrations when the CLI opens the database itself (default true; `status` only looks). */
  migrate?: boolean;
  /** The command prints which database it opened on its own (`status`), so `--verbose` does not say it again. */
  saysWhichDatabase?: boolean;
}

/**
 * Opens the database the server uses, with migrations applied: PostgreSQL at DATABASE_URL, else the
 * PGlite folder DATA_DIR (absolute; see config). When a live server holds that folder, the CLI goes
 * through the server's socket in it and never opens the folder itself, so there is never a second
 * writer; when nobody holds it, the CLI takes the lock and opens it, as the server would. With
 * `--verbose`, says on stderr which database it opened.
 */
export async function openCliContext(options: CliOpenOptions = {}): Promise<{ ctx: Ctx; close: () => Promise<void> }> {
  const config = loadCliConfig();
  let db: Database;
  try {
    db = config.DATABASE_URL
      ? await createDatabase({ databaseUrl: config.DATABASE_URL, poolMax: 4 })
      : await openPglite(config.DATA_DIR);
  } catch (error) {
    throw startupFailure(error, config);
  }
  try {
    if (db.location.kind === 'pglite-socket') {
      // The server applied its migrations when it started; a CLI newer than the server waits for a restart.
      const { pending } = await migrationStatus(db);
      if (pending.length > 0 && options.migrate !== false) {
        throw new CliError(
          `The running server has not applied migration ${pending.join(', ')} of this copy of Allot. ` +
            'Restart the server (it applies them at start), then run the command again.',
        );
      }
    } else if (options.migrate !== false) {
      await applyMigrations(db, config.DATABASE_URL);
    } else {
      // postgres.js connects at the first query: make it here, so a database that is missing, refuses or
      // rejects the login gets the same one line as every other command (and `npm start`).
      await migrationStatus(db);
    }
  } catch (error) {
    await db.close();
    throw startupFailure(error, config);
  }
  if (cliSettings.verbose) {
    if (!options.saysWhichDatabase) console.error(`Database: ${describeLocation(db.location)}`);
  } else if (db.location.kind === 'pglite-folder' && db.location.created) {
    console.error(`Created a new, empty database at ${db.location.dataDir}.`);
  }
  return { ctx: { db, clock: systemClock }, close: () => db.close() };
}

/** The PGlite folder: through a running server's socket when one holds it, else opened here. */
async function openPglite(dataDir: string): Promise<Database> {
  for (let attempt = 0; ; attempt++) {
    const server = await findServerSocket(dataDir);
    if (server) {
      const db = createPgliteSocketDatabase({ dataDir, ...server });
      if (await db.ping()) return db;
      await db.close();
      throw new CliError(
        `The server holding DATA_DIR ${dataDir} (pid ${server.serverPid}) does not answer on its socket ` +
          `${server.socketPath}. Is it stuck? Check its log, or restart it.`,
        3,
      );
    }
    try {
      return await createDatabase({ dataDir });
    } catch (error) {
      // A server took the folder meanwhile: go through its socket.
      if (!(error instanceof DataDirLockedError) || attempt > 0) throw error;
    }
  }
}

/**
 * The socket of the live process holding DATA_DIR, or undefined when nobody holds it (any more). A
 * holder that neither offers a socket nor lets go within serverSocketWaitMs is a long CLI command, or
 * a server still starting or older than this CLI: the command ends (exit 3) rather than open the folder
 * a second time.
 */
export async function findServerSocket(
  dataDir: string,
): Promise<{ socketPath: string; serverPid: number } | undefined> {
  const deadline = Date.now() + serverSocketWaitMs;
  for (;;) {
    const owner = await dataDirOwner(dataDir);
    if (owner === undefined) return undefined;
    const socketPath = pgliteSocketPath(dataDir);
    if (await isSocket(socketPath)) return { socketPath, serverPid: owner };
    if (Date.now() > deadline) {
      throw new CliError(
        `DATA_DIR ${dataDir} is in use by pid ${owner}, which offers no socket for the CLI (another allot ` +
          'command, or a server still starting or older than this CLI). Wait for it and try again.',
        3,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function isSocket(target: string): Promise<boolean> {
  try {
    return (await stat(target)).isSocket();
  } catch {
    return false;
  }
}

/** The same one line and exit code `npm start` gives for a database it cannot open; a bug is rethrown. */
function startupFailure(error: unknown, settings: StartupSettings): unknown {
  const failure = describeStartupFailure(error, settings);
  return failure ? new CliError(failure.message, failure.exitCode) : error;
}

/** Runs one command with an open context, always closing it (on PGlite, releasing DATA_DIR). */
export async function withCliContext(work: (ctx: Ctx) => Promise<void>, options: CliOpenOptions = {}): Promise<void> {
  const { ctx, close } = await openCliContext(options);
  try {
    await work(ctx);
  } finally {
    await close();
  }
}

export async function requireOrganisation(ctx: Ctx, slug: string): Promise<Organisation> {
  const organisation = await membersRepo.findOrganisationBySlug(ctx.db.orm, slug.trim().toLowerCase());
  if (!organisation) {
    const near = nearestSlug(
      slug.trim().toLowerCase(),
      (await membersRepo.listOrganisations(ctx.db.orm)).map((org) => org.slug),
    );
    throw new CliError(
      near
        ? `No organisation "${slug}". Did you mean ${near}? See: allot org list`
        : `No organisation "${slug}". Create it with: allot org create ${slug}`,
    );
  }
  return organisation;
}

const memberIdPattern = /^[0-9]{1,18}$/;

/** A member named by email or numeric id, as every CLI command accepts. */
export async function requireMember(ctx: Ctx, organisation: Organisation, reference: string): Promise<Member> {
  const text = reference.trim();
  const member = memberIdPattern.test(text)
    ? await membersRepo.findMember(ctx.db.orm, organisation.id, BigInt(text))
    : text.includes('@')
      ? await membersRepo.findMemberByEmail(ctx.db.orm, organisation.id, text)
      : undefined;
  if (!member) {
    const what = memberIdPattern.test(text) || text.includes('@') ? `No member "${text}"` : `"${text}" is not a member`;
    throw new CliError(
      `${what} in ${organisation.slug}. Name members by email or id; see: allot member list ${organisation.slug}`,
    );
  }
  return member;
}

/** Parses an amount typed by the operator; a bad one ends the command with the parser's friendly message. */
export function requireAmount(text: string): bigint {
  const parsed = parseAmount(text);
  if (!parsed.ok) throw new CliError(parsed.message);
  return parsed.amount;
}

/**
 * Parses an amount followed by other arguments (a memo, members, a period) by the one amount rule of
 * src/ledger/amount.models.ts: `allot budget acme mia 50 100 commits` is ambiguous (50,100 tokens, or
 * 50 with the memo "100 commits") and ends the command with both readings; nothing is written.
 */
export function requireLeadingAmount(words: readonly string[], after: AfterAmount): bigint {
  const read = readLeadingAmount(words, after);
  if (!read.ok) throw new CliError(read.message);
  return read.amount;
}

/**
 * A date or date-time typed as an option's value, by the one strict reader (src/lib/date-input.models.ts):
 * `2026-01-31` (midnight UTC that day) or `2026-01-31T09:00:00Z` / `…+01:00`. Anything else, an
 * impossible date (2026-02-30) or a bare number (1, 2026), ends the command, exit 1, naming the option.
 */
export function requireDate(text: string, option: string): Date {
  const parsed = parseInstantInput(text, { dateOnlyZone: 'UTC' });
  if (!parsed.ok) throw new CliError(`${option}: ${parsed.message}`);
  return parsed.value;
}

/**
 * The value of `--expires` (src/lib/expiry.models.ts): a date (`2026-12-31`, the end of that day in the
 * recipient's zone), a number of days (`90d`), or `never`; undefined when the option was not given (the
 * organisation's default then applies). Anything else ends the command, exit 1, saying what to type.
 */
export function requireExpiry(text: string | undefined): ExpiryInput | undefined {
  if (text === undefined) return undefined;
  const parsed = parseExpiryInput(text);
  if (!parsed.ok) throw new CliError(`--expires: ${parsed.message}`);
  return parsed.value;
}

/** An idempotency key: the operator's --key (so a retried command posts once) or a fresh one. */
export function idempotencyKey(key: string | undefined): string {
  if (key === undefined) return `cli:${randomUUID()}`;
  const trimmed = key.trim();
  if (trimmed.length === 0 || trimmed.length > idempotencyKeyLengthMax - 4) {
    throw new CliError(`--key must be 1 to ${idempotencyKeyLengthMax - 4} characters, e.g. --key payroll-2026-01`);
  }
  return `cli:${trimmed}`;
}

export { amountHelp };

/**
 * The slug a mistyped one most likely meant: the nearest by edit distance (insert, delete, replace,
 * or swap two neighbours: Damerau's rule), when it is at most 2 edits away and nearer than the rest.
 */
export function nearestSlug(typed: string, slugs: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  let tie = false;
  for (const slug of slugs) {
    const distance = editDistance(typed, slug);
    if (distance < bestDistance) {
      best = slug;
      bestDistance = distance;
      tie = false;
    } else if (distance === bestDistance) tie = true;
  }
  return tie ? undefined : best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        value = Math.min(value, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = value;
    }
  }
  return rows[a.length]![b.length]!;
}
