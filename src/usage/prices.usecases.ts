import type { Actor, Ctx } from '../lib/context';
import { actorMemberId } from '../lib/context';
import { fail, ok, type Result } from '../lib/result';
import * as membersRepo from '../members/members.repository';
import { isAdminActor } from '../members/members.usecases';
import type { PriceRow } from './prices.repository';
import * as pricesRepo from './prices.repository';
import { parsePricePerMillion, parseWeight } from './pricing.models';
import { isValidCategory, normaliseModel } from './usage.models';

// Model prices and category weights, set by admins; ingestion applies them (pricing.models.ts).

export type SetPriceFailure = 'not_an_admin' | 'model_invalid' | 'price_invalid';

/**
 * Sets a model's price from `effectiveFrom` (default: now) in money per million input and output
 * tokens, typed as decimals ("2.50"). Events keep the price in force at their own time.
 */
export async function setPrice(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; model: string; input: string; output: string; effectiveFrom?: Date },
): Promise<Result<PriceRow, SetPriceFailure>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  const model = normaliseModel(input.model);
  if (!model) return fail('model_invalid');
  const inputMicros = parsePricePerMillion(input.input);
  const outputMicros = parsePricePerMillion(input.output);
  if (inputMicros === undefined || outputMicros === undefined) return fail('price_invalid');
  const effectiveFrom = input.effectiveFrom ?? ctx.clock.now();
  if (Number.isNaN(effectiveFrom.getTime())) return fail('price_invalid');
  await ctx.db.orm.transaction(async (tx) => {
    await pricesRepo.upsertPrice(tx, {
      orgId: input.orgId,
      model,
      effectiveFrom,
      inputMicrosPerMillion: inputMicros,
      outputMicrosPerMillion: outputMicros,
      createdByMemberId: actorMemberId(input.actor),
    });
    await membersRepo.insertActorAudit(tx, {
      orgId: input.orgId,
      actor: input.actor,
      action: 'price.set',
      details: { model, effectiveFrom: effectiveFrom.toISOString(), inputMicros, outputMicros },
      at: ctx.clock.now(),
    });
  });
  return ok({
    model,
    effectiveFrom,
    inputMicrosPerMillion: inputMicros,
    outputMicrosPerMillion: outputMicros,
    source: 'organisation',
  });
}

export async function listPrices(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor },
): Promise<Result<PriceRow[], 'not_an_admin'>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  return ok(await pricesRepo.listPrices(ctx.db.orm, input.orgId));
}

export type SetWeightFailure = 'not_an_admin' | 'category_invalid' | 'weight_invalid';

/** Sets a category's value weight ("1.5"); value = tokens × weight for events from now on. */
export async function setWeight(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; category: string; weight: string },
): Promise<Result<{ category: string; weightThousandths: number }, SetWeightFailure>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  const category = input.category.trim().toLowerCase();
  if (!isValidCategory(category)) return fail('category_invalid');
  const weightThousandths = parseWeight(input.weight);
  if (weightThousandths === undefined) return fail('weight_invalid');
  await ctx.db.orm.transaction(async (tx) => {
    await pricesRepo.upsertWeight(tx, { orgId: input.orgId, category, weightThousandths, at: ctx.clock.now() });
    await membersRepo.insertActorAudit(tx, {
      orgId: input.orgId,
      actor: input.actor,
      action: 'weight.set',
      details: { category, weightThousandths },
      at: ctx.clock.now(),
    });
  });
  return ok({ category, weightThousandths });
}

export async function listWeights(ctx: Ctx, input: { orgId: bigint }) {
  return (await pricesRepo.listWeights(ctx.db.orm, input.orgId)).map((row) => ({
    category: row.category,
    weightThousandths: row.weightThousandths,
  }));
}
