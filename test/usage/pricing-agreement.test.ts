import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client';
import { operatorActor } from '../../src/lib/context';
import { setPrice, setWeight } from '../../src/usage/prices.usecases';
import {
  costMicros,
  type ModelPrice,
  moneyWorthMicros,
  parsePricePerMillion,
  parseWeight,
  value,
} from '../../src/usage/pricing.models';
import { ingestUsage } from '../../src/usage/usage.usecases';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeMember, makeOrganisation, uniqueKey } from '../support/fixtures';
import { event } from './support';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => tdb.close());

/**
 * One event each: its tokens, the price of its model in dollars per million tokens (input, output; null:
 * the model has no price), the weight of its category (null: never set, so 1), and what cost and value
 * must come out. Every case goes through the SQL at ingest and through the TypeScript model.
 */
const cases: {
  name: string;
  input: number;
  output: number;
  price: [string, string] | null;
  weight: string | null;
  cost: bigint;
  value: bigint;
}[] = [
  {
    name: 'a plain event',
    input: 1_000,
    output: 500,
    price: ['2.50', '10'],
    weight: null,
    cost: 7_500n,
    value: 1_500n,
  },
  { name: 'output only', input: 0, output: 1, price: ['1', '1'], weight: null, cost: 1n, value: 1n },
  { name: 'a free model', input: 5_000, output: 5_000, price: ['0', '0'], weight: null, cost: 0n, value: 10_000n },
  { name: 'an unpriced model', input: 1_000, output: 1_000, price: null, weight: null, cost: 0n, value: 2_000n },
  { name: 'weight 0', input: 1_000, output: 1_000, price: ['1', '1'], weight: '0', cost: 2_000n, value: 0n },
  // Rounding: half a micro-unit rounds up, just under half rounds down; the sum is rounded once.
  { name: 'half a micro rounds up', input: 1, output: 0, price: ['0.5', '0'], weight: null, cost: 1n, value: 1n },
  { name: 'under half rounds down', input: 1, output: 0, price: ['0.499999', '0'], weight: null, cost: 0n, value: 1n },
  { name: '1.5 micros round to 2', input: 1, output: 0, price: ['1.5', '0'], weight: null, cost: 2n, value: 1n },
  {
    name: '2.5 micros round to 3 (not to even)',
    input: 1,
    output: 0,
    price: ['2.5', '0'],
    weight: null,
    cost: 3n,
    value: 1n,
  },
  { name: 'two quarters round once', input: 1, output: 1, price: ['0.25', '0.25'], weight: null, cost: 1n, value: 2n },
  { name: 'a third just over half', input: 3, output: 0, price: ['0.166667', '0'], weight: null, cost: 1n, value: 3n },
  { name: 'a third just under half', input: 3, output: 0, price: ['0.166666', '0'], weight: null, cost: 0n, value: 3n },
  {
    name: 'input and output priced apart',
    input: 7,
    output: 11,
    price: ['0.1', '0.3'],
    weight: null,
    cost: 4n,
    value: 18n,
  },
  // Weights: value rounded half up once.
  { name: 'weight 0.5 on one token', input: 1, output: 0, price: ['1', '1'], weight: '0.5', cost: 1n, value: 1n },
  { name: 'weight 0.499 on one token', input: 1, output: 0, price: ['1', '1'], weight: '0.499', cost: 1n, value: 0n },
  { name: 'weight 1.5 on three tokens', input: 2, output: 1, price: ['1', '1'], weight: '1.5', cost: 3n, value: 5n },
  {
    name: 'weight 0.001 on 499 tokens',
    input: 499,
    output: 0,
    price: ['1', '1'],
    weight: '0.001',
    cost: 499n,
    value: 0n,
  },
  {
    name: 'weight 0.001 on 500 tokens',
    input: 500,
    output: 0,
    price: ['1', '1'],
    weight: '0.001',
    cost: 500n,
    value: 1n,
  },
  // The largest event at the largest price and weight.
  {
    name: 'the largest event, price and weight',
    input: 600_000_000,
    output: 400_000_000,
    price: ['1000000', '1000000'],
    weight: '1000',
    cost: 1_000_000_000_000_000n,
    value: 1_000_000_000_000n,
  },
];

it('prices and values every event at ingest exactly as the TypeScript model does', async () => {
  const ctx = createTestCtx(tdb.db);
  const org = await makeOrganisation(ctx);
  const ana = await makeMember(ctx, org.id, { name: 'Ana', email: `ana-${uniqueKey()}@example.com` });
  const events = [];
  const expected = new Map<string, { cost: bigint; value: bigint; name: string }>();
  for (const [index, entry] of cases.entries()) {
    const model = `agreement-${index}`;
    const category = `agreement-${index}`;
    let price: ModelPrice | null = null;
    if (entry.price) {
      const [input, output] = entry.price;
      const set = await setPrice(ctx, {
        orgId: org.id,
        actor: operatorActor,
        model,
        input,
        output,
        effectiveFrom: new Date('2026-01-01T00:00:00Z'),
      });
      expect(set.ok, entry.name).toBe(true);
      price = {
        inputMicrosPerMillion: parsePricePerMillion(input)!,
        outputMicrosPerMillion: parsePricePerMillion(output)!,
      };
    }
    let weight: number | null = null;
    if (entry.weight !== null) {
      const set = await setWeight(ctx, { orgId: org.id, actor: operatorActor, category, weight: entry.weight });
      expect(set.ok, entry.name).toBe(true);
      weight = parseWeight(entry.weight)!;
    }
    const tokens = { inputTokens: BigInt(entry.input), outputTokens: BigInt(entry.output) };
    const sent = event({ user: ana.email!, model, category, input_tokens: entry.input, output_tokens: entry.output });
    events.push(sent);
    // The model against the table first, so a wrong table cannot make both sides agree on a wrong answer.
    expect({ cost: costMicros(tokens, price), value: value(tokens, weight) }, entry.name).toEqual({
      cost: entry.cost,
      value: entry.value,
    });
    expected.set(sent.id, { cost: entry.cost, value: entry.value, name: entry.name });
  }

  const result = await ingestUsage(ctx, { orgId: org.id, events });
  expect(result.ok && result.value.accepted).toBe(cases.length);
  const stored = await queryRows<{ event_id: string; cost_micros: string; value: string }>(
    ctx.db.orm,
    sql`select event_id, cost_micros::text, value::text from usage_events where org_id = ${org.id.toString()}::bigint`,
  );
  expect(stored).toHaveLength(cases.length);
  for (const row of stored) {
    const want = expected.get(row.event_id)!;
    expect({ cost: BigInt(row.cost_micros), value: BigInt(row.value) }, want.name).toEqual({
      cost: want.cost,
      value: want.value,
    });
  }
});

it('says what a balance is worth at a rate, truncated toward zero, and nothing without a rate', () => {
  expect(moneyWorthMicros(1_000n, { tokens: 3n, costMicros: 1n })).toBe(333n);
  expect(moneyWorthMicros(-1_000n, { tokens: 3n, costMicros: 1n })).toBe(-333n);
  expect(moneyWorthMicros(1_000n, { tokens: 0n, costMicros: 5n })).toBeNull();
  expect(moneyWorthMicros(1_000n, { tokens: 10n, costMicros: 0n })).toBeNull();
});
