import type { Actor, Ctx } from '../lib/context';
import { actorMemberId } from '../lib/context';
import { fail, ok, type Result } from '../lib/result';
import * as membersRepo from '../members/members.repository';
import { isAdminActor } from '../members/members.usecases';
import { generateApiKey, hashApiKey, isValidApiKeyName, looksLikeApiKey } from './api-keys.models';
import type { ApiKey } from './api-keys.repository';
import * as apiKeysRepo from './api-keys.repository';

// API keys for the usage API: created and revoked by admins, the clear key shown once, stored hashed.

export type ApiKeyFailure = 'not_an_admin' | 'name_invalid' | 'name_taken' | 'key_not_found';

/** A new key; the clear key is in the answer only, never stored. */
export async function createApiKey(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; name: string },
): Promise<
  Result<{ key: string; apiKey: ApiKey }, Extract<ApiKeyFailure, 'not_an_admin' | 'name_invalid' | 'name_taken'>>
> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  const name = input.name.trim();
  if (!isValidApiKeyName(name)) return fail('name_invalid');
  if (await apiKeysRepo.findLiveApiKeyByName(ctx.db.orm, input.orgId, name)) return fail('name_taken');
  const generated = generateApiKey();
  try {
    const apiKey = await ctx.db.orm.transaction(async (tx) => {
      const created = await apiKeysRepo.insertApiKey(tx, {
        orgId: input.orgId,
        name,
        keyHash: generated.hash,
        keyPrefix: generated.prefix,
        createdByMemberId: actorMemberId(input.actor),
        createdAt: ctx.clock.now(),
      });
      await membersRepo.insertActorAudit(tx, {
        orgId: input.orgId,
        actor: input.actor,
        action: 'apikey.create',
        details: { name, prefix: generated.prefix },
        at: ctx.clock.now(),
      });
      return created;
    });
    return ok({ key: generated.key, apiKey });
  } catch (error) {
    if (await apiKeysRepo.findLiveApiKeyByName(ctx.db.orm, input.orgId, name)) return fail('name_taken');
    throw error;
  }
}

export async function listApiKeys(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor },
): Promise<Result<ApiKey[], 'not_an_admin'>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  return ok(await apiKeysRepo.listApiKeys(ctx.db.orm, input.orgId));
}

export async function revokeApiKey(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; name: string },
): Promise<Result<ApiKey, Extract<ApiKeyFailure, 'not_an_admin' | 'key_not_found'>>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  return ctx.db.orm.transaction(async (tx) => {
    const revoked = await apiKeysRepo.revokeApiKey(tx, input.orgId, input.name.trim(), ctx.clock.now());
    if (!revoked) return fail('key_not_found');
    await membersRepo.insertActorAudit(tx, {
      orgId: input.orgId,
      actor: input.actor,
      action: 'apikey.revoke',
      details: { name: revoked.name, prefix: revoked.keyPrefix },
      at: ctx.clock.now(),
    });
    return ok(revoked);
  });
}

/** The organisation a bearer key belongs to; undefined for an unknown, malformed or revoked key. */
export async function authenticateApiKey(
  ctx: Ctx,
  key: string,
): Promise<{ orgId: bigint; keyId: bigint; name: string } | undefined> {
  if (!looksLikeApiKey(key)) return undefined;
  const found = await apiKeysRepo.findLiveApiKeyByHash(ctx.db.orm, hashApiKey(key));
  return found ? { orgId: found.orgId, keyId: found.id, name: found.name } : undefined;
}
