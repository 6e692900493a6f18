// Profiles a few ingest batches against the kept allot_bench_usage database.
import { sql } from 'drizzle-orm';
import { createDatabase, queryRows } from '../../src/db/client';
import { systemClock } from '../../src/lib/clock';
import { ingestUsage } from '../../src/usage/usage.usecases';

const url = 'postgres://postgres@127.0.0.1:5432/allot_bench_usage';
const db = await createDatabase({ databaseUrl: url, poolMax: 1 });
const ctx = { db, clock: systemClock };
const [org] = await queryRows<{ id: string }>(
  db.orm,
  sql`select id::text from organisations where slug = 'bench-ingest'`,
);
const orgId = BigInt(org!.id);
const models = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4-5', 'gemini-2.5-flash', 'gpt-5', 'o4-mini'];
const categories = ['code', 'review', 'docs', 'chat'];
const now = Date.now();
const tag = process.argv[2] ?? String(now);
const batches = Number(process.argv[3] ?? 5);
for (let b = 0; b < batches; b++) {
  const batch = [];
  for (let i = 0; i < 1000; i++) {
    const n = b * 1000 + i;
    const u = ((n * 2654435761) % 4294967296) / 4294967296;
    batch.push({
      id: `p-${tag}-${n}`,
      time: new Date(now - ((n * 7919) % (6 * 3_600_000))).toISOString(),
      user: `m${Math.min(999, Math.floor(1000 * u ** 3))}@bench.example`,
      model: models[n % 6],
      input_tokens: 500 + (n % 4000),
      output_tokens: 100 + (n % 900),
      category: categories[n % 4],
    });
  }
  let s = performance.now();
  const r = await ingestUsage(ctx, { orgId, events: batch });
  const newMs = performance.now() - s;
  s = performance.now();
  const r2 = await ingestUsage(ctx, { orgId, events: batch });
  const repMs = performance.now() - s;
  console.log(
    `batch ${b}: new ${newMs.toFixed(1)} ms (${r.ok && r.value.accepted}), replay ${repMs.toFixed(1)} ms (${r2.ok && r2.value.duplicate})`,
  );
}
await db.close();
