import { randomUUID } from 'node:crypto';
import { loadConfigFromProcessEnv } from '../config/config';
import { createDatabase, type Database } from '../db/client';
import { DataDirLockedError } from '../db/data-dir';
import { applyMigrations } from '../db/migrate';
import { type AfterAmount, amountHelp, parseAmount, readLeadingAmount } from '../ledger/amount.models';
import { operationKeyLengthMax } from '../ledger/ledger.models';
import { systemClock } from '../lib/clock';
import type { Ctx } from '../lib/context';
import { parseInstantInput } from '../lib/date-input.models';
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
    throw error;
  }
  try {
    await applyMigrations(db, config.DATABASE_URL);
  } catch (error) {
    await db.close();
    throw unreachable(error) ?? error;
  }
  return { ctx: { db, clock: systemClock }, close: () => db.close() };
}

/** A friendly line for a database that cannot be reached, rather than a stack trace. */
function unreachable(error: unknown): CliError | undefined {
  const code = (error as { code?: string }).code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === '3D000') {
    return new CliError(`Cannot reach the database at DATABASE_URL (${code}). Is Postgres running and the URL right?`);
  }
  return undefined;
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
