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

/**
 * Revokes the organisation's live key called `name` (admins only), with an audit row: requests with it
 * get 401 at once on this process, and within apiKeyTrustMs on every other (the CLI revokes from its own).
 */
export async function revokeApiKey(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; name: string },
): Promise<Result<ApiKey, Extract<ApiKeyFailure, 'not_an_admin' | 'key_not_found'>>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  const result = await ctx.db.orm.transaction(async (tx) => {
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
  // This process stops trusting the key at once; other processes within apiKeyTrustMs.
  if (result.ok) knownKeysOf(ctx).delete(result.value.keyHash);
  return result;
}

/**
 * How long a process trusts a key it looked up before asking the database again (ms). A key revoked
 * by another process (the CLI, another replica) stops working there within this; in the process that
 * revoked it, at once. Without it every API request paid a query for its key (bench/README.md,
 * "Reservations": two of a reserve + settle pair's queries).
 */
export const apiKeyTrustMs = 2_000;

/** Most keys a process keeps trusted at once (the oldest lookup is forgotten first). */
const knownKeysMax = 1_000;

type KnownKey = { orgId: bigint; keyId: bigint; name: string; until: number };
const knownKeysByDatabase = new WeakMap<Ctx['db'], Map<string, KnownKey>>();

function knownKeysOf(ctx: Ctx): Map<string, KnownKey> {
  let known = knownKeysByDatabase.get(ctx.db);
  if (!known) {
    known = new Map();
    knownKeysByDatabase.set(ctx.db, known);
  }
  return known;
}

/**
 * The organisation a bearer key belongs to; undefined for an unknown, malformed or revoked key. A live
 * key is trusted for apiKeyTrustMs after its lookup (monotonic time); unknown keys are looked up each time.
 */
export async function authenticateApiKey(
  ctx: Ctx,
  key: string,
): Promise<{ orgId: bigint; keyId: bigint; name: string } | undefined> {
  if (!looksLikeApiKey(key)) return undefined;
  const hash = hashApiKey(key);
  const known = knownKeysOf(ctx);
  const now = performance.now();
  const trusted = known.get(hash);
  if (trusted && trusted.until > now) return { orgId: trusted.orgId, keyId: trusted.keyId, name: trusted.name };
  known.delete(hash);
  const found = await apiKeysRepo.findLiveApiKeyByHash(ctx.db.orm, hash);
  if (!found) return undefined;
  const answer = { orgId: found.orgId, keyId: found.id, name: found.name };
  known.set(hash, { ...answer, until: now + apiKeyTrustMs });
  if (known.size > knownKeysMax) known.delete(known.keys().next().value!);
  return answer;
}
