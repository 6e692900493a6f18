import { and, asc, desc, eq, isNull, sql } from 'drizzle-orm';
import type { Orm } from '../db/client';
import { apiKeysListMax } from './usage.models';
import { apiKeys } from './usage.tables';

// API keys: stored hashed, looked up by hash for each request, listed and revoked by name.

export type ApiKey = typeof apiKeys.$inferSelect;

export async function insertApiKey(
  orm: Orm,
  input: {
    orgId: bigint;
    name: string;
    keyHash: string;
    keyPrefix: string;
    createdByMemberId: bigint | null;
    createdAt: Date;
  },
): Promise<ApiKey> {
  const [row] = await orm.insert(apiKeys).values(input).returning();
  return row!;
}

export async function findLiveApiKeyByName(orm: Orm, orgId: bigint, name: string): Promise<ApiKey | undefined> {
  const [row] = await orm
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.name, name), isNull(apiKeys.revokedAt)))
    .limit(1);
  return row;
}

export async function findLiveApiKeyByHash(orm: Orm, keyHash: string): Promise<ApiKey | undefined> {
  const [row] = await orm
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)))
    .limit(1);
  return row;
}

export async function listApiKeys(orm: Orm, orgId: bigint): Promise<ApiKey[]> {
  return orm
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.orgId, orgId))
    .orderBy(sql`${apiKeys.revokedAt} is not null`, asc(apiKeys.name), desc(apiKeys.createdAt))
    .limit(apiKeysListMax);
}

export async function revokeApiKey(orm: Orm, orgId: bigint, name: string, at: Date): Promise<ApiKey | undefined> {
  const [row] = await orm
    .update(apiKeys)
    .set({ revokedAt: at })
    .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.name, name), isNull(apiKeys.revokedAt)))
    .returning();
  return row;
}
