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
  // Rows are named by their line in the file: the header is line 1.
  expect(first.value.rejections.map((r) => [r.line, r.reason])).toEqual([
    [2_502, 'unknown_user'],
    [2_503, 'invalid_tokens'],
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
  const header = 'id,time,user,model,input_tokens,output_tokens';
  const broken = await importUsageCsv(ctx, { orgId: org.id, csv: Readable.from([`${header}\n"unterminated,2026\n`]) });
  expect(broken).toMatchObject({ ok: false, failure: 'csv_invalid', detail: { line: 2 } });
});

it('checks the header before any row: unknown, missing and repeated columns are named and nothing is imported', async () => {
  const ctx = createTestCtx(tdb.db);
  const org = await makeOrganisation(ctx);
  const ana = await makeMember(ctx, org.id, { name: 'Ana', email: `ana-${uniqueKey()}@example.com` });
  await fund(ctx, org.id, [ana.id], 1_000n);
  const before = await usageSnapshot(ctx, org.id);
  const csv = [
    'id,time,user,modle,input_tokens,input_tokens',
    `${uniqueKey('h')},2026-01-02T10:00:00Z,${ana.email},gpt-4o,1,1`,
  ];
  const result = await importUsageCsv(ctx, { orgId: org.id, csv: Readable.from([csv.join('\n')]) });
  expect(result).toEqual({
    ok: false,
    failure: 'csv_header_invalid',
    detail: { unknown: ['modle'], missing: ['model', 'output_tokens'], duplicate: ['input_tokens'] },
  });
  expect(await usageSnapshot(ctx, org.id)).toEqual(before);
  expect(await wallet(ctx, org.id, ana.id)).toBe(1_000n);
});

it('refuses an empty file (no header) with its own failure; a header alone imports nothing and is fine', async () => {
  const ctx = createTestCtx(tdb.db);
  const org = await makeOrganisation(ctx);
  for (const empty of ['', '\n\n', '\ufeff']) {
    expect(await importUsageCsv(ctx, { orgId: org.id, csv: Readable.from([empty]) })).toEqual({
      ok: false,
      failure: 'csv_empty',
    });
  }
  const headerOnly = await importUsageCsv(ctx, {
    orgId: org.id,
    csv: Readable.from(['id,time,user,model,input_tokens,output_tokens,category\n']),
  });
  expect(headerOnly.ok && headerOnly.value).toMatchObject({ rows: 0, accepted: 0, rejected: 0 });
});

it('a row with more or fewer cells than the header is rejected by line, saying how many; the other rows are imported', async () => {
  const ctx = createTestCtx(tdb.db);
  const org = await makeOrganisation(ctx);
  const ana = await makeMember(ctx, org.id, { name: 'Ana', email: `ana-${uniqueKey()}@example.com` });
  await fund(ctx, org.id, [ana.id], 10_000n);
  const p = uniqueKey('cells');
  const lines = [
    'id,time,user,model,input_tokens,output_tokens,category', // line 1
    `${p}-1,2026-01-02T10:00:00Z,${ana.email},gpt-4o,10,0,code`, // line 2
    `${p}-2,2026-01-02T10:00:00Z,${ana.email},gpt-4o,10,0,code,surplus`, // line 3: 8 cells
    '', // line 4: blank, skipped
    `${p}-3,2026-01-02T10:00:00Z,${ana.email},gpt-4o,10`, // line 5: 5 cells
    `${p}-4,2026-01-02T10:00:00Z,${ana.email},"gpt-4o`, // line 6: a quoted cell with a newline…
    'still the model",10,0,code', // line 7: …ends here (an invalid model)
    `${p}-5,2026-01-02T10:00:00Z,${ana.email},,10,0,code`, // line 8: an empty model cell
    `${p}-6,2026-01-02T10:00:00Z,${ana.email},gpt-4o,20,0,`, // line 9: empty category is fine
  ];
  const result = await importUsageCsv(ctx, { orgId: org.id, csv: Readable.from([lines.join('\r\n')]) });
  expect(result.ok).toBe(true);
  if (!result.ok) return;
  expect(result.value).toMatchObject({ rows: 6, accepted: 2, rejected: 4 });
  expect(result.value.rejections.map((r) => [r.line, r.lastLine, r.id, r.reason, r.message])).toEqual([
    [3, 3, `${p}-2`, 'wrong_cell_count', 'The row has 8 cells but the header names 7 columns.'],
    [5, 5, `${p}-3`, 'wrong_cell_count', 'The row has 5 cells but the header names 7 columns.'],
    [6, 7, `${p}-4`, 'invalid_model', expect.stringContaining('"model" must be a model name')],
    [8, 8, `${p}-5`, 'missing_field', expect.stringContaining('"model" (or gen_ai.request.model')],
  ]);
  expect(await wallet(ctx, org.id, ana.id)).toBe(10_000n - 30n);
  expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
});
