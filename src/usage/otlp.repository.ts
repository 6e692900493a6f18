import { and, asc, eq } from 'drizzle-orm';
import type { Orm } from '../db/client';
import { operationCategoriesMax } from './otlp.models';
import { operationCategories } from './usage.tables';

// The categories an admin gives GenAI operations (gen_ai.operation.name) for POST /v1/traces.

/** The organisation's operation → category mappings, by operation (at most operationCategoriesMax). */
export async function listOperationCategories(
  orm: Orm,
  orgId: bigint,
): Promise<{ operation: string; category: string }[]> {
  return orm
    .select({ operation: operationCategories.operation, category: operationCategories.category })
    .from(operationCategories)
    .where(eq(operationCategories.orgId, orgId))
    .orderBy(asc(operationCategories.operation))
    .limit(operationCategoriesMax);
}

export async function upsertOperationCategory(
  orm: Orm,
  input: { orgId: bigint; operation: string; category: string; at: Date },
): Promise<void> {
  await orm
    .insert(operationCategories)
    .values({ orgId: input.orgId, operation: input.operation, category: input.category, updatedAt: input.at })
    .onConflictDoUpdate({
      target: [operationCategories.orgId, operationCategories.operation],
      set: { category: input.category, updatedAt: input.at },
    });
}

/** Removes an operation's mapping; true when there was one. */
export async function deleteOperationCategory(orm: Orm, input: { orgId: bigint; operation: string }): Promise<boolean> {
  const deleted = await orm
    .delete(operationCategories)
    .where(and(eq(operationCategories.orgId, input.orgId), eq(operationCategories.operation, input.operation)))
    .returning({ operation: operationCategories.operation });
  return deleted.length > 0;
}
