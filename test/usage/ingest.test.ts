import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client';
import { auditLedger } from '../../src/ledger/ledger.usecases';
import { operatorActor } from '../../src/lib/context';
import { addMember } from '../../src/members/members.usecases';
import { ingestUsage, setPrice, setWeight } from '../../src/usage/usage.usecases';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeMember, makeOrganisation, uniqueKey } from '../support/fixtures';
import { event, fund, usageSnapshot, wallet } from './support';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => tdb.close());

async function setup() {
  const ctx = createTestCtx(tdb.db);
  const org = await makeOrganisation(ctx);
  const ana = await makeMember(ctx, org.id, { name: 'Ana', email: `ana-${uniqueKey()}@example.com` });
  const ben = await makeMember(ctx, org.id, { name: 'Ben', email: `ben-${uniqueKey()}@example.com` });
  await fund(ctx, org.id, [ana.id, ben.id], 1_000_000n);
  return { ctx, org, ana, ben };
}

describe('ingesting usage', () => {
  it('stores, prices, debits and rolls up a batch of valid events in one go', async () => {
    const { ctx, org, ana, ben } = await setup();
    const result = await ingestUsage(ctx, {
      orgId: org.id,
      events: [
        event({ user: ana.email!, model: 'gpt-4o', input_tokens: 1_000_000, output_tokens: 100_000, category: 'code' }),
        event({ user: ana.email!, model: 'gpt-4o', input_tokens: 2_000, output_tokens: 0 }),
        event({ user: ben.email!, model: 'gpt-4o-mini', input_tokens: 10_000, output_tokens: 5_000 }),
      ],
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toMatchObject({ accepted: 3, duplicate: 0, rejected: 0, unpricedModels: [] });
    expect(await wallet(ctx, org.id, ana.id)).toBe(1_000_000n - 1_102_000n);
    expect(await wallet(ctx, org.id, ben.id)).toBe(1_000_000n - 15_000n);
    // gpt-4o seed price: $2.50 in, $10 out per million → 2.5 + 1.0 + 0.005 dollars.
    const rollups = await queryRows<{ model: string; events: string; tokens: string; cost_micros: string }>(
      ctx.db.orm,
      sql`select model, events::text, tokens::text, cost_micros::text from usage_daily_rollups
           where org_id = ${org.id.toString()}::bigint and member_id = ${ana.id.toString()}::bigint order by category`,
    );
    expect(rollups).toEqual([
      { model: 'gpt-4o', events: '1', tokens: '1100000', cost_micros: '3500000' },
      { model: 'gpt-4o', events: '1', tokens: '2000', cost_micros: '5000' },
    ]);
    const transfers = await queryRows<{ operation_key: string; amount: string; code: string }>(
      ctx.db.orm,
      sql`select operation_key, amount::text, code from transfers
           where org_id = ${org.id.toString()}::bigint and code = 'usage' order by id`,
    );
    expect(transfers).toHaveLength(3);
    expect(transfers[0]!.operation_key).toMatch(/^usage:evt-/);
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });
});
