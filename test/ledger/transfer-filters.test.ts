import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAccount, listTransfers, type Transfer } from '../../src/ledger/ledger.repository';
import type { TransferCode } from '../../src/ledger/ledger.tables';
import { transferIdBounds } from '../../src/ledger/transfer-listing.repository';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeMember, makeOrganisation } from '../support/fixtures';

// The ledger page's filters (listTransfers with codes and a time range, paged by id) against a plain
// filter of every transfer: the time range is read through id bounds found by probing the BRIN index
// in widening windows, which must never lose or add a transfer, whatever the gaps between transfers.

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => tdb.close());

const codes: TransferCode[] = ['grant', 'topup', 'usage', 'allocate'];
const start = Date.parse('2026-01-01T00:00:00Z');

/**
 * An organisation whose 120 transfers were made at uneven times over a year (bursts, then gaps of weeks),
 * written in time order as Allot writes them. Inserted directly: only the listing is under test here.
 */
async function organisationWithHistory() {
  const ctx = createTestCtx(tdb.db);
  const org = await makeOrganisation(ctx);
  const ana = await makeMember(ctx, org.id, { name: 'Ana' });
  const treasury = (await findAccount(tdb.db.orm, org.id, 'treasury'))!;
  const wallet = (await findAccount(tdb.db.orm, org.id, 'wallet', ana.id))!;
  let at = start;
  for (let index = 0; index < 120; index++) {
    at += index % 10 === 0 ? 17 * 86_400_000 : (index % 3) * 3_600_000 + 60_000;
    await tdb.db.orm.execute(sql`
      insert into transfers (org_id, operation_key, leg, request_hash, debit_account_id, credit_account_id, amount,
                             code, platform, memo, created_at)
      values (${org.id.toString()}::bigint, ${`filters-${index}`}, 1, 'h', ${treasury.id.toString()}::bigint,
              ${wallet.id.toString()}::bigint, ${index + 1}, ${codes[index % codes.length]!}, 'cli', '',
              ${new Date(at).toISOString()}::timestamptz)`);
  }
  const all = await listTransfers(tdb.db.orm, { orgId: org.id, limit: 1000 });
  expect(all).toHaveLength(120);
  return { orgId: org.id, all, last: at };
}

/** Every page of a filtered listing, newest first, as the ledger page walks it. */
async function walk(orgId: bigint, filter: { codes?: TransferCode[]; from?: Date; to?: Date }, pageSize: number) {
  const seen: Transfer[] = [];
  let beforeId: bigint | undefined;
  for (let page = 0; page < 200; page++) {
    const rows = await listTransfers(tdb.db.orm, { orgId, ...filter, beforeId, limit: pageSize });
    seen.push(...rows);
    if (rows.length < pageSize) return seen;
    beforeId = rows[rows.length - 1]!.id;
  }
  throw new Error('the listing never ended');
}

describe('the ledger listing’s filters', () => {
  it('a time range, a code, or both list exactly the transfers a plain filter finds, page by page', async () => {
    const { orgId, all, last } = await organisationWithHistory();
    const instants = [start - 86_400_000, start + 5 * 86_400_000, start + 20 * 86_400_000, start + 60 * 86_400_000];
    instants.push(last - 3_600_000, last, last + 86_400_000);
    const ranges: { from?: Date; to?: Date }[] = [{}];
    for (const from of instants) ranges.push({ from: new Date(from) }, { to: new Date(from) });
    for (const [i, from] of instants.entries())
      for (const to of instants.slice(i + 1)) ranges.push({ from: new Date(from), to: new Date(to) });
    for (const range of ranges) {
      for (const code of [undefined, 'grant', 'usage'] as const) {
        const expected = all.filter(
          (row) =>
            (!range.from || row.createdAt >= range.from) &&
            (!range.to || row.createdAt < range.to) &&
            (!code || row.code === code),
        );
        const listed = await walk(orgId, { ...range, codes: code ? [code] : undefined }, 7);
        const label = `${range.from?.toISOString() ?? '…'} to ${range.to?.toISOString() ?? '…'}, ${code ?? 'any code'}`;
        expect(
          listed.map((row) => row.id),
          label,
        ).toEqual(expected.map((row) => row.id));
      }
    }
  });

  it('a range with no transfers in it is answered without a listing', async () => {
    const { orgId, last } = await organisationWithHistory();
    expect(await transferIdBounds(tdb.db.orm, { orgId, from: new Date(last + 1) })).toBe('none');
    expect(await transferIdBounds(tdb.db.orm, { orgId, to: new Date(start) })).toBe('none');
    expect(await listTransfers(tdb.db.orm, { orgId, from: new Date(last + 1), limit: 50 })).toEqual([]);
  });
});
