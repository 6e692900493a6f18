import { loadConfigFromProcessEnv } from '../config/config';
import { createDatabase } from '../db/client';
import { applyMigrations } from '../db/migrate';
import { systemClock } from '../lib/clock';
import type { Ctx } from '../lib/context';
import * as membersRepo from '../members/members.repository';
import type { Organisation } from '../members/members.repository';

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
  const db = await createDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATABASE_URL ? undefined : config.DATA_DIR,
    poolMax: 4,
  });
  await applyMigrations(db, config.DATABASE_URL);
  return { ctx: { db, clock: systemClock }, close: () => db.close() };
}

export async function requireOrganisation(ctx: Ctx, slug: string): Promise<Organisation> {
  const organisation = await membersRepo.findOrganisationBySlug(ctx.db.orm, slug.trim().toLowerCase());
  if (!organisation) throw new CliError(`no organisation "${slug}"; create it with: allot org create ${slug}`);
  return organisation;
}
