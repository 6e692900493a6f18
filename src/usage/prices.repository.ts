import { asc, eq, sql } from 'drizzle-orm';
import { type Orm, queryRows } from '../db/client';
import { pricesListMax } from './usage.models';
import { categoryWeights, modelPrices } from './usage.tables';

// Model prices (dated) and category weights of an organisation.

export async function upsertPrice(
  orm: Orm,
  input: {
    orgId: bigint;
    model: string;
    effectiveFrom: Date;
    inputMicrosPerMillion: bigint;
    outputMicrosPerMillion: bigint;
    createdByMemberId: bigint | null;
  },
): Promise<void> {
  await orm
    .insert(modelPrices)
    .values(input)
    .onConflictDoUpdate({
      target: [modelPrices.orgId, modelPrices.model, modelPrices.effectiveFrom],
      set: {
        inputMicrosPerMillion: input.inputMicrosPerMillion,
        outputMicrosPerMillion: input.outputMicrosPerMillion,
        createdByMemberId: input.createdByMemberId,
      },
    });
}

export interface PriceRow {
  model: string;
  effectiveFrom: Date;
  inputMicrosPerMillion: bigint;
  outputMicrosPerMillion: bigint;
  source: 'organisation' | 'seed';
}

/** The organisation's own dated prices, then the seed prices of models it has not priced itself. */
export async function listPrices(orm: Orm, orgId: bigint): Promise<PriceRow[]> {
  const rows = await queryRows<{
    model: string;
    effective_from: string | Date;
    input_micros: string;
    output_micros: string;
    source: 'organisation' | 'seed';
  }>(
    orm,
    sql`select model, effective_from, input_micros_per_million::text as input_micros,
               output_micros_per_million::text as output_micros, 'organisation' as source
          from model_prices where org_id = ${orgId.toString()}::bigint
        union all
        select s.model, s.effective_from, s.input_micros_per_million::text, s.output_micros_per_million::text, 'seed'
          from model_price_seeds s
         where not exists (select 1 from model_prices p where p.org_id = ${orgId.toString()}::bigint and p.model = s.model)
        order by model, effective_from
        limit ${pricesListMax}`,
  );
  return rows.map((row) => ({
    model: row.model,
    effectiveFrom: new Date(row.effective_from),
    inputMicrosPerMillion: BigInt(row.input_micros),
    outputMicrosPerMillion: BigInt(row.output_micros),
    source: row.source,
  }));
}

export async function upsertWeight(
  orm: Orm,
  input: { orgId: bigint; category: string; weightThousandths: number; at: Date },
) {
  await orm
    .insert(categoryWeights)
    .values({
      orgId: input.orgId,
      category: input.category,
      weightThousandths: input.weightThousandths,
      updatedAt: input.at,
    })
    .onConflictDoUpdate({
      target: [categoryWeights.orgId, categoryWeights.category],
      set: { weightThousandths: input.weightThousandths, updatedAt: input.at },
    });
}

export async function listWeights(orm: Orm, orgId: bigint) {
  return orm
    .select()
    .from(categoryWeights)
    .where(eq(categoryWeights.orgId, orgId))
    .orderBy(asc(categoryWeights.category))
    .limit(pricesListMax);
}
