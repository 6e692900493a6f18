import { performance } from 'node:perf_hooks';
import postgres from 'postgres';
import { createDatabase } from '../../src/db/client';
import { applyMigrations } from '../../src/db/migrate';
import { grantTokens } from '../../src/ledger/ledger.usecases';
import { systemClock } from '../../src/lib/clock';
import { type Ctx, operatorActor } from '../../src/lib/context';
import { addMember, createOrganisation } from '../../src/members/members.usecases';
import { parseUsageEvent } from '../../src/usage/usage.models';
import * as repo from '../../src/usage/usage.repository';
import { ingestUsage } from '../../src/usage/usage.usecases';

const serverUrl = 'postgres://postgres@127.0.0.1:5432/test';
const url = 'postgres://postgres@127.0.0.1:5432/allot_prof_usage';
const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
await admin.unsafe('drop database if exists allot_prof_usage with (force)');
await admin.unsafe('create database allot_prof_usage');
await admin.end();
const db = await createDatabase({ databaseUrl: url, poolMax: 4 });
await applyMigrations(db, url);
const ctx: Ctx = { db, clock: systemClock };
const org = await createOrganisation(ctx, { slug: 'p', actor: operatorActor });
if (!org.ok) throw new Error();
const orgId = org.value.id;
const emails: string[] = [];
for (let i = 0; i < 200; i++) {
  const m = await addMember(ctx, { orgId, displayName: `m${i}`, email: `m${i}@x.example`, actor: operatorActor });
  if (!m.ok) throw new Error();
  emails.push(`m${i}@x.example`);
}
const now = Date.now();
const mk = (b: number) =>
  Array.from({ length: 1000 }, (_, i) => ({
    id: `e-${b}-${i}`,
    time: new Date(now - i * 60000).toISOString(),
    user: emails[i % emails.length],
    model: 'gpt-4o',
    input_tokens: 100,
    output_tokens: 50,
    category: 'code',
  }));
for (let round = 0; round < 3; round++) {
  const batch = mk(round);
  let t = performance.now();
  for (const e of batch) parseUsageEvent(e, new Date());
  console.log('parse', (performance.now() - t).toFixed(1));
  t = performance.now();
  await repo.resolveUsers(db.orm, orgId, { emails, slackIds: [], teamsIds: [] });
  console.log('resolve', (performance.now() - t).toFixed(1));
  t = performance.now();
  await ingestUsage(ctx, { orgId, events: batch });
  console.log('ingest new', (performance.now() - t).toFixed(1));
  t = performance.now();
  await ingestUsage(ctx, { orgId, events: batch });
  console.log('ingest replay', (performance.now() - t).toFixed(1));
}
await db.close();
