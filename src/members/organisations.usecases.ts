import * as ledgerRepo from '../ledger/ledger.repository';
import type { Actor, Ctx } from '../lib/context';
import { actorMemberId } from '../lib/context';
import { withRetries } from '../lib/db-errors';
import { expiryDaysMax } from '../lib/expiry.models';
import { fail, ok, type Result } from '../lib/result';
import { isTimeZone } from '../lib/zoned-time.models';
import type { Organisation } from './members.repository';
import * as membersRepo from './members.repository';
import { isAdminActor } from './members.usecases';

// Organisations: created with their treasury, usage and expired accounts (at the CLI, or the first
// time a chat workspace is seen), and the chat workspaces linked to them.

const slugPattern = /^[a-z0-9][a-z0-9-]{0,62}$/;

export type CreateOrganisationFailure = 'slug_invalid' | 'slug_taken' | 'time_zone_invalid';

/** An organisation with its treasury, usage and expired accounts. */
export async function createOrganisation(
  ctx: Ctx,
  input: { slug: string; name?: string; timeZone?: string; actor: Actor },
): Promise<Result<Organisation, CreateOrganisationFailure>> {
  const slug = input.slug.trim().toLowerCase();
  if (!slugPattern.test(slug)) return fail('slug_invalid');
  const timeZone = input.timeZone ?? 'UTC';
  if (!isTimeZone(timeZone)) return fail('time_zone_invalid');
  if (await membersRepo.findOrganisationBySlug(ctx.db.orm, slug)) return fail('slug_taken');
  try {
    const organisation = await ctx.db.orm.transaction(async (tx) => {
      const created = await membersRepo.insertOrganisation(tx, { slug, name: input.name?.trim() || slug, timeZone });
      await ledgerRepo.insertOrganisationAccounts(tx, created.id);
      await membersRepo.insertActorAudit(tx, {
        orgId: created.id,
        actor: input.actor,
        action: 'organisation.create',
        details: { slug, timeZone },
        at: ctx.clock.now(),
      });
      return created;
    });
    return ok(organisation);
  } catch (error) {
    if (await membersRepo.findOrganisationBySlug(ctx.db.orm, slug)) return fail('slug_taken');
    throw error;
  }
}

/** The organisation for a chat workspace, created (slug from the workspace id) the first time it is seen. */
export async function ensureOrganisationForWorkspace(
  ctx: Ctx,
  input: { platform: membersRepo.IdentityPlatform; externalId: string; name: string },
): Promise<Organisation> {
  return withRetries(async () => {
    const existing = await membersRepo.findOrganisationByWorkspace(ctx.db.orm, input.platform, input.externalId);
    if (existing) return existing;
    const slug = `${input.platform}-${input.externalId.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`.slice(0, 63);
    return ctx.db.orm.transaction(async (tx) => {
      const created =
        (await membersRepo.findOrganisationBySlug(tx, slug)) ??
        (await (async () => {
          const organisation = await membersRepo.insertOrganisation(tx, {
            slug,
            name: input.name || slug,
            timeZone: 'UTC',
          });
          await ledgerRepo.insertOrganisationAccounts(tx, organisation.id);
          await membersRepo.insertAudit(tx, {
            orgId: organisation.id,
            actorMemberId: null,
            platform: input.platform,
            action: 'organisation.create',
            details: { slug, workspace: input.externalId },
            at: ctx.clock.now(),
          });
          return organisation;
        })());
      await membersRepo.insertWorkspace(tx, {
        orgId: created.id,
        platform: input.platform,
        externalId: input.externalId,
      });
      return created;
    });
  });
}

/**
 * Links a chat workspace (a Slack team or enterprise, a Teams tenant) to an organisation, so people
 * on Slack and Teams with the same email share one member and one wallet. Link before first use: a
 * workspace already serving another organisation is refused.
 */
export async function linkWorkspace(
  ctx: Ctx,
  input: { orgId: bigint; platform: membersRepo.IdentityPlatform; externalId: string; actor?: Actor },
): Promise<Result<{ alreadyLinked: boolean }, 'workspace_taken' | 'workspace_invalid'>> {
  const externalId = input.externalId.trim();
  if (!/^[A-Za-z0-9._:-]{2,100}$/.test(externalId)) return fail('workspace_invalid');
  const existing = await membersRepo.findOrganisationByWorkspace(ctx.db.orm, input.platform, externalId);
  if (existing) {
    return existing.id === input.orgId ? ok({ alreadyLinked: true }) : fail('workspace_taken', { slug: existing.slug });
  }
  await ctx.db.orm.transaction(async (tx) => {
    await membersRepo.insertWorkspace(tx, { orgId: input.orgId, platform: input.platform, externalId });
    await membersRepo.insertAudit(tx, {
      orgId: input.orgId,
      actorMemberId: input.actor ? actorMemberId(input.actor) : null,
      platform: input.actor?.platform ?? 'cli',
      action: 'workspace.link',
      details: { platform: input.platform, externalId },
      at: ctx.clock.now(),
    });
  });
  const linked = await membersRepo.findOrganisationByWorkspace(ctx.db.orm, input.platform, externalId);
  return linked?.id === input.orgId ? ok({ alreadyLinked: false }) : fail('workspace_taken', { slug: linked?.slug });
}

/**
 * Sets (`days`, 1 to expiryDaysMax) or removes (`null`) the organisation's default expiry: the tokens of
 * a grant, a top-up or a budget issue that names no expiry of its own expire at the end of the local day
 * that many days on. Admins and operators only; what was granted before keeps its own expiry.
 */
export async function setDefaultExpiry(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; days: number | null },
): Promise<Result<Organisation, 'not_an_admin' | 'expiry_days_invalid'>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  if (input.days !== null && (!Number.isInteger(input.days) || input.days < 1 || input.days > expiryDaysMax)) {
    return fail('expiry_days_invalid');
  }
  return ctx.db.orm.transaction(async (tx) => {
    const updated = await membersRepo.updateOrganisation(tx, input.orgId, { defaultExpiryDays: input.days });
    if (!updated) throw new Error(`organisation ${input.orgId} not found`);
    await membersRepo.insertActorAudit(tx, {
      orgId: input.orgId,
      actor: input.actor,
      action: 'organisation.default_expiry',
      details: { days: input.days },
      at: ctx.clock.now(),
    });
    return ok(updated);
  });
}
