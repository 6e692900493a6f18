import { Readable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { auditLedger } from '../../src/ledger/ledger.usecases';
import { importUsageCsv } from '../../src/usage/import.usecases';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeMember, makeOrganisation, uniqueKey } from '../support/fixtures';
import { fund, usageSnapshot, wallet } from './support';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => tdb.close());

it('imports a CSV export in batches with the same rules as the API, and a second run imports nothing twice', async () => {
  const ctx = createTestCtx(tdb.db);
  const org = await makeOrganisation(ctx);
  const ana = await makeMember(ctx, org.id, { name: 'Ana', email: `ana-${uniqueKey()}@example.com` });
  await fund(ctx, org.id, [ana.id], 10_000_000n);
  const prefix = uniqueKey('row');
  const lines = ['id,time,user,model,input_tokens,output_tokens,category'];
  for (let i = 0; i < 2_500; i++) {
    lines.push(
      `${prefix}-${i},2026-01-0${1 + (i % 4)}T10:00:00Z,${ana.email},gpt-4o,${100 + i},10,${i % 2 ? 'code' : ''}`,
    );
  }
  lines.push(`${prefix}-bad-user,2026-01-02T10:00:00Z,nobody@example.com,gpt-4o,10,0,code`);
  lines.push(`${prefix}-bad-tokens,2026-01-02T10:00:00Z,${ana.email},gpt-4o,many,0,code`);
  lines.push('');
  const csv = lines.join('\n');
  const progress: number[] = [];
  const first = await importUsageCsv(ctx, {
    orgId: org.id,
    csv: Readable.from([csv]),
    onProgress: (p) => progress.push(p.rows),
  });
  expect(first.ok).toBe(true);
  if (!first.ok) return;
  expect(first.value).toMatchObject({ rows: 2_502, accepted: 2_500, duplicate: 0, rejected: 2 });
  expect(first.value.rejections.map((r) => [r.row, r.reason])).toEqual([
    [2_501, 'unknown_user'],
    [2_502, 'invalid_tokens'],
  ]);
  expect(progress).toEqual([1_000, 2_000, 2_502]);
  let spent = 0n;
  for (let i = 0; i < 2_500; i++) spent += BigInt(110 + i);
  expect(await wallet(ctx, org.id, ana.id)).toBe(10_000_000n - spent);

  const before = await usageSnapshot(ctx, org.id);
  const second = await importUsageCsv(ctx, { orgId: org.id, csv: Readable.from([csv]) });
  expect(second.ok && second.value).toMatchObject({ accepted: 0, duplicate: 2_500, rejected: 2 });
  expect(await usageSnapshot(ctx, org.id)).toEqual(before);
  expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
});

it('reads OpenTelemetry column names, and refuses a file that is not CSV with a reason', async () => {
  const ctx = createTestCtx(tdb.db);
  const org = await makeOrganisation(ctx);
  const ana = await makeMember(ctx, org.id, { name: 'Ana', email: `ana-${uniqueKey()}@example.com` });
  const csv = [
    'gen_ai.response.id,time,user.email,gen_ai.request.model,gen_ai.usage.input_tokens,gen_ai.usage.output_tokens',
    `${uniqueKey('otel')},2026-01-05T08:00:00Z,${ana.email},gpt-4o,12,3`,
  ].join('\n');
  const result = await importUsageCsv(ctx, { orgId: org.id, csv: Readable.from([csv]) });
  expect(result.ok && result.value).toMatchObject({ rows: 1, accepted: 1 });
  const broken = await importUsageCsv(ctx, { orgId: org.id, csv: Readable.from(['id,time\n"unterminated,2026\n']) });
  expect(broken).toMatchObject({ ok: false, failure: 'csv_invalid' });
});
