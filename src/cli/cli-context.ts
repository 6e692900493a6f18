import { randomUUID } from 'node:crypto';
import { loadConfigFromProcessEnv } from '../config/config';
import { createDatabase, type Database } from '../db/client';
import { DataDirLockedError } from '../db/data-dir';
import { applyMigrations } from '../db/migrate';
import { amountHelp, parseAmount } from '../ledger/amount.models';
import { operationKeyLengthMax } from '../ledger/ledger.models';
import { systemClock } from '../lib/clock';
import type { Ctx } from '../lib/context';
import { describeStartupFailure, type StartupSettings } from '../lib/startup-failures';
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

/**
 * Opens the database the server uses (DATABASE_URL, else PGlite under DATA_DIR) with migrations
 * applied. On PGlite the folder's lock means the CLI cannot run while the server does.
 */
export async function openCliContext(): Promise<{ ctx: Ctx; close: () => Promise<void> }> {
  const parsed = loadConfigFromProcessEnv();
  if (!parsed.ok) throw new CliError(parsed.problems.map((problem) => `config: ${problem}`).join('\n'), 2);
  const { config } = parsed;
  let db: Database;
  try {
    db = await createDatabase({
      databaseUrl: config.DATABASE_URL,
      dataDir: config.DATABASE_URL ? undefined : config.DATA_DIR,
      poolMax: 4,
    });
  } catch (error) {
    if (error instanceof DataDirLockedError) {
      throw new CliError(
        `The allot CLI cannot run beside a running Allot server on embedded PGlite: DATA_DIR ${error.dataDir} is ` +
          `locked by pid ${error.pid}. Stop the server first, or run both on Postgres (set DATABASE_URL).`,
        3,
      );
    }
    throw startupFailure(error, config);
  }
  try {
    await applyMigrations(db, config.DATABASE_URL);
  } catch (error) {
    await db.close();
    throw startupFailure(error, config);
  }
  return { ctx: { db, clock: systemClock }, close: () => db.close() };
}

/** The same one line and exit code `npm start` gives for a database it cannot open; a bug is rethrown. */
function startupFailure(error: unknown, settings: StartupSettings): unknown {
  const failure = describeStartupFailure(error, settings);
  return failure ? new CliError(failure.message, failure.exitCode) : error;
}

/** Runs one command with an open context, always closing it (on PGlite, releasing DATA_DIR). */
export async function withCliContext(work: (ctx: Ctx) => Promise<void>): Promise<void> {
  const { ctx, close } = await openCliContext();
  try {
    await work(ctx);
  } finally {
    await close();
  }
}

export async function requireOrganisation(ctx: Ctx, slug: string): Promise<Organisation> {
  const organisation = await membersRepo.findOrganisationBySlug(ctx.db.orm, slug.trim().toLowerCase());
  if (!organisation) throw new CliError(`No organisation "${slug}". Create it with: allot org create ${slug}`);
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

/** An idempotency key: the operator's --key (so a retried command posts once) or a fresh one. */
export function operationKey(key: string | undefined): string {
  if (key === undefined) return `cli:${randomUUID()}`;
  const trimmed = key.trim();
  if (trimmed.length === 0 || trimmed.length > operationKeyLengthMax - 4) {
    throw new CliError(`--key must be 1 to ${operationKeyLengthMax - 4} characters, e.g. --key payroll-2026-01`);
  }
  return `cli:${trimmed}`;
}

export { amountHelp };
