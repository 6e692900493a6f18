import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client';
import { operatorActor } from '../../src/lib/context';
import { hashApiKey } from '../../src/usage/api-keys.models';
import {
  apiKeyTrustMs,
  authenticateApiKey,
  createApiKey,
  listApiKeys,
  revokeApiKey,
} from '../../src/usage/api-keys.usecases';
import { apiKeyCreatedReply } from '../../src/usage/usage.replies';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeMember, makeOrganisation } from '../support/fixtures';
import { messageText } from './support';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => tdb.close());

it('an API key is shown once, stored only as its SHA-256, and stops working when revoked', async () => {
  const ctx = createTestCtx(tdb.db);
  const org = await makeOrganisation(ctx);
  const admin = await makeMember(ctx, org.id, { name: 'Ada', role: 'admin' });
  const actor = { kind: 'member', memberId: admin.id, platform: 'slack' } as const;
  const created = await createApiKey(ctx, { orgId: org.id, actor, name: 'ci-gateway' });
  expect(created.ok).toBe(true);
  if (!created.ok) return;
  const { key } = created.value;
  expect(key).toMatch(/^allot_[A-Za-z0-9_-]{43}$/);
  expect(messageText(apiKeyCreatedReply(created.value))).toContain(key);

  // Nothing stored holds the key in clear: not the key table, not the audit log.
  const rows = await queryRows<Record<string, unknown>>(
    ctx.db.orm,
    sql`select k.*, (select json_agg(a.details) from audit_log a where a.org_id = k.org_id) as audit
          from api_keys k where k.org_id = ${org.id.toString()}::bigint`,
  );
  expect(rows).toHaveLength(1);
  expect(JSON.stringify(rows)).not.toContain(key);
  expect(JSON.stringify(rows)).not.toContain(key.slice(12));
  expect(rows[0]!.key_hash).toBe(hashApiKey(key));
  expect(rows[0]!.key_prefix).toBe(key.slice(0, 12));

  expect(await authenticateApiKey(ctx, key)).toMatchObject({ orgId: org.id, name: 'ci-gateway' });
  expect(await authenticateApiKey(ctx, `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`)).toBeUndefined();
  expect(await authenticateApiKey(ctx, 'not-a-key')).toBeUndefined();

  expect(await createApiKey(ctx, { orgId: org.id, actor, name: 'ci-gateway' })).toMatchObject({
    ok: false,
    failure: 'name_taken',
  });
  expect(await createApiKey(ctx, { orgId: org.id, actor, name: 'has space' })).toMatchObject({
    ok: false,
    failure: 'name_invalid',
  });
  const listed = await listApiKeys(ctx, { orgId: org.id, actor });
  expect(listed.ok && listed.value.map((k) => [k.name, k.keyPrefix, k.revokedAt])).toEqual([
    ['ci-gateway', key.slice(0, 12), null],
  ]);

  expect(await revokeApiKey(ctx, { orgId: org.id, actor, name: 'ci-gateway' })).toMatchObject({ ok: true });
  expect(await authenticateApiKey(ctx, key)).toBeUndefined();
  expect(await revokeApiKey(ctx, { orgId: org.id, actor, name: 'ci-gateway' })).toMatchObject({
    ok: false,
    failure: 'key_not_found',
  });
  // The name is free again once revoked; the new key is a different key.
  const renewed = await createApiKey(ctx, { orgId: org.id, actor: operatorActor, name: 'ci-gateway' });
  expect(renewed.ok && renewed.value.key).not.toBe(key);
});

it('a key revoked by another process stops working there within apiKeyTrustMs, and at once where it was revoked', async () => {
  const ctx = createTestCtx(tdb.db);
  // Another process (the CLI, another replica): the same database through a handle of its own.
  const elsewhere = createTestCtx({ ...tdb.db });
  const org = await makeOrganisation(ctx);
  const created = await createApiKey(ctx, { orgId: org.id, actor: operatorActor, name: 'gw' });
  if (!created.ok) throw new Error(created.failure);
  const { key } = created.value;
  expect(await authenticateApiKey(ctx, key)).toMatchObject({ orgId: org.id });
  expect(await authenticateApiKey(elsewhere, key)).toMatchObject({ orgId: org.id });

  const trustedFrom = performance.now();
  expect(await revokeApiKey(elsewhere, { orgId: org.id, actor: operatorActor, name: 'gw' })).toMatchObject({
    ok: true,
  });
  expect(await authenticateApiKey(elsewhere, key)).toBeUndefined();
  // The server that looked it up before trusts it no longer than apiKeyTrustMs, then asks again.
  let lastTrusted = trustedFrom;
  while ((await authenticateApiKey(ctx, key)) !== undefined) {
    lastTrusted = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(lastTrusted - trustedFrom).toBeLessThanOrEqual(apiKeyTrustMs);
  expect(await authenticateApiKey(ctx, key)).toBeUndefined();
});

it('only admins manage API keys', async () => {
  const ctx = createTestCtx(tdb.db);
  const org = await makeOrganisation(ctx);
  const member = await makeMember(ctx, org.id, { name: 'Ben' });
  const actor = { kind: 'member', memberId: member.id, platform: 'teams' } as const;
  expect(await createApiKey(ctx, { orgId: org.id, actor, name: 'mine' })).toEqual({
    ok: false,
    failure: 'not_an_admin',
  });
  expect(await listApiKeys(ctx, { orgId: org.id, actor })).toEqual({ ok: false, failure: 'not_an_admin' });
  expect(await revokeApiKey(ctx, { orgId: org.id, actor, name: 'mine' })).toEqual({
    ok: false,
    failure: 'not_an_admin',
  });
});
