import { afterAll, beforeAll, expect, it } from 'vitest';
import { auditLedger, getBalances, grantTokens } from '../../src/ledger/ledger.usecases';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeTeam, uniqueKey } from '../support/fixtures';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => tdb.close());

it('a manager grants two people from the budget and the ledger balances', async () => {
  const ctx = createTestCtx(tdb.db);
  const { org, manager, ana, ben } = await makeTeam(ctx);
  const key = uniqueKey();
  const result = await grantTokens(ctx, {
    orgId: org.id,
    actor: { kind: 'member', memberId: manager.id, platform: 'slack' },
    recipientIds: [ana.id, ben.id],
    amount: 30_000n,
    memo: 'shipped',
    idempotencyKey: key,
  });
  expect(result.ok && result.value.budgetBalance).toBe(40_000n);
  const again = await grantTokens(ctx, {
    orgId: org.id,
    actor: { kind: 'member', memberId: manager.id, platform: 'slack' },
    recipientIds: [ana.id, ben.id],
    amount: 30_000n,
    memo: 'shipped',
    idempotencyKey: key,
  });
  expect(again.ok && again.value.replayed).toBe(true);
  expect((await getBalances(tdb.db.orm, org.id, ana.id))?.wallet).toBe(30_000n);
  const over = await grantTokens(ctx, {
    orgId: org.id,
    actor: { kind: 'member', memberId: manager.id, platform: 'slack' },
    recipientIds: [ana.id, ben.id],
    amount: 30_000n,
    idempotencyKey: uniqueKey(),
  });
  expect(over).toMatchObject({ ok: false, failure: 'exceeds_budget' });
  expect(await auditLedger(ctx)).toEqual([]);
});
