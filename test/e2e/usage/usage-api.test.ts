import { afterAll, beforeAll, expect, it } from 'vitest';
import { AllotClient } from '../../../src/gateway/allot-client';
import { operatorActor } from '../../../src/lib/context';
import type { RunningAllot } from '../../../src/main';
import type { Member, Organisation } from '../../../src/members/members.repository';
import { addMember } from '../../../src/members/members.usecases';
import type { PlatformSender } from '../../../src/notify/notifier';
import { createApiKey, revokeApiKey } from '../../../src/usage/api-keys.usecases';
import { makeOrganisation, uniqueKey } from '../../support/fixtures';
import { startRunningAllot } from '../../support/running-allot';
import { event, fund, wallet } from '../../usage/support';

let started: Awaited<ReturnType<typeof startRunningAllot>>;
let running: RunningAllot;
let url: string;
let org: Organisation;
let ana: Member;
let key: string;
const dms: { to: string; summary: string }[] = [];

beforeAll(async () => {
  started = await startRunningAllot();
  running = started.running;
  url = `${started.baseUrl}/v1/usage`;
  const ctx = running.deps.ctx;
  org = await makeOrganisation(ctx);
  ana = await fundedSlackMember('Ana', 'U0ANA');
  const apiKey = await createApiKey(ctx, { orgId: org.id, actor: operatorActor, name: 'gateway' });
  if (!apiKey.ok) throw new Error(apiKey.failure);
  key = apiKey.value.key;
  const sender: PlatformSender = {
    platform: 'slack',
    async sendDirect({ identity, message }) {
      dms.push({ to: identity.externalId, summary: message.summary });
      return { ok: true, location: { platform: 'slack', ref: { channel: identity.externalId, ts: '1' } } };
    },
    async update() {
      return { ok: false, reason: 'failed' };
    },
  };
  running.deps.notifier.register(sender);
});

afterAll(async () => {
  await started?.stop();
});

const now = () => new Date(Date.now() - 60_000).toISOString();

/** A member of `org` with an email and a Slack identity (user id `slackId`), holding 10,000 tokens. */
async function fundedSlackMember(name: string, slackId: string): Promise<Member> {
  const ctx = running.deps.ctx;
  const created = await addMember(ctx, {
    orgId: org.id,
    displayName: name,
    email: `${name.toLowerCase()}-${uniqueKey()}@example.com`,
    identity: { platform: 'slack', externalId: slackId, workspaceId: 'T1' },
    actor: operatorActor,
  });
  if (!created.ok) throw new Error(created.failure);
  await fund(ctx, org.id, [created.value.id], 10_000n);
  return created.value;
}

async function post(body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

it('answers each event of a batch over HTTP, keeps the valid ones, and a replay is all duplicates', async () => {
  const events = [
    event({ user: ana.email!, time: now(), input_tokens: 100, output_tokens: 20 }),
    event({ user: 'slack:U0ANA', time: now(), model: 'claude-sonnet-4-5', input_tokens: 50, output_tokens: 0 }),
    event({ user: 'nobody@example.com', time: now() }),
    {
      id: uniqueKey('otel'),
      time: now(),
      user: ana.email,
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 5,
      'gen_ai.usage.output_tokens': 5,
    },
  ];
  const first = await post({ events });
  expect(first.status).toBe(200);
  expect(first.body).toMatchObject({ accepted: 3, duplicate: 0, rejected: 1 });
  expect((first.body.results as { status: string; reason?: string }[]).map((r) => r.reason ?? r.status)).toEqual([
    'accepted',
    'accepted',
    'unknown_user',
    'accepted',
  ]);
  expect(await wallet(running.deps.ctx, org.id, ana.id)).toBe(10_000n - 180n);
  const replay = await post({ events });
  expect(replay.body).toMatchObject({ accepted: 0, duplicate: 3, rejected: 1 });
  expect(await wallet(running.deps.ctx, org.id, ana.id)).toBe(10_000n - 180n);
});

it('refuses a missing, unknown or revoked key with 401 and a friendly message', async () => {
  const body = JSON.stringify({ events: [] });
  const bare = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  expect(bare.status).toBe(401);
  expect(((await bare.json()) as { message: string }).message).toContain('Authorization: Bearer');
  expect((await post({ events: [] }, { authorization: `Bearer allot_${'x'.repeat(43)}` })).status).toBe(401);
  const spare = await createApiKey(running.deps.ctx, { orgId: org.id, actor: operatorActor, name: 'spare' });
  if (!spare.ok) throw new Error(spare.failure);
  expect((await post({ events: [] }, { authorization: `Bearer ${spare.value.key}` })).status).toBe(200);
  await revokeApiKey(running.deps.ctx, { orgId: org.id, actor: operatorActor, name: 'spare' });
  const revoked = await post({ events: [] }, { authorization: `Bearer ${spare.value.key}` });
  expect(revoked.status).toBe(401);
  expect(revoked.body.message).toContain('revoked');
});

it('answers 400 with what to send when the body is not the envelope, and changes nothing', async () => {
  const before = await wallet(running.deps.ctx, org.id, ana.id);
  for (const body of ['{"event": []}', '[{"id":"x"}]', '{"events": "all of them"}', '{not json', '']) {
    const answer = await post(body);
    expect(answer.status, body).toBe(400);
    expect(String(answer.body.message)).toContain('{"events":[');
  }
  expect(await wallet(running.deps.ctx, org.id, ana.id)).toBe(before);
});

it('answers 415 naming the Content-Type header when a body is not sent as application/json, and changes nothing', async () => {
  const before = await wallet(running.deps.ctx, org.id, ana.id);
  const body = JSON.stringify({ events: [event({ user: ana.email!, time: now() })] });
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'text/json']) {
    const answer = await post(body, { 'content-type': type });
    expect(answer.status, type).toBe(415);
    expect(answer.body).toMatchObject({ error: 'unsupported_media_type' });
    expect(String(answer.body.message)).toContain('"Content-Type: application/json"');
    expect(String(answer.body.message)).toContain(type);
  }
  // A body with no Content-Type at all.
  const bare = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: new TextEncoder().encode(body),
  });
  expect(bare.status).toBe(415);
  expect(((await bare.json()) as { message: string }).message).toContain('Content-Type: application/json');
  // The JSON types are accepted, with a charset or a +json suffix.
  for (const type of ['application/json; charset=utf-8', 'application/vnd.allot+json']) {
    expect((await post({ events: [] }, { 'content-type': type })).status, type).toBe(200);
  }
  expect(await wallet(running.deps.ctx, org.id, ana.id)).toBe(before);
});

it('answers 405 with "Allow: POST" to any other method, with or without a key', async () => {
  for (const method of ['GET', 'PUT', 'PATCH', 'DELETE']) {
    for (const headers of [{}, { authorization: `Bearer ${key}` }] as Record<string, string>[]) {
      const answer = await fetch(url, { method, headers });
      expect(answer.status, method).toBe(405);
      expect(answer.headers.get('allow')).toBe('POST');
      expect(((await answer.json()) as { error: string }).error).toBe('method_not_allowed');
    }
  }
  const head = await fetch(url, { method: 'HEAD' });
  expect([head.status, head.headers.get('allow')]).toEqual([405, 'POST']);
});

it('calls a missing field missing: an event without "model" is rejected as missing_field, one with a bad model as invalid', async () => {
  const missing = { ...event({ user: ana.email!, time: now() }) } as Record<string, unknown>;
  delete missing.model;
  const answer = await post({ events: [missing, event({ user: ana.email!, time: now(), model: 'gpt 4o!' })] });
  expect(answer.status).toBe(200);
  expect(answer.body.results).toEqual([
    {
      index: 0,
      id: missing.id,
      status: 'rejected',
      reason: 'missing_field',
      message: '"model" (or gen_ai.request.model, gen_ai.response.model) is missing; every event needs it.',
    },
    expect.objectContaining({ index: 1, status: 'rejected', reason: 'invalid_model' }),
  ]);
});

it('answers 413 beyond 1 MiB or 1000 events, and changes nothing', async () => {
  const before = await wallet(running.deps.ctx, org.id, ana.id);
  const many = await post({ events: Array.from({ length: 1001 }, () => event({ user: ana.email!, time: now() })) });
  expect(many.status).toBe(413);
  expect(String(many.body.message)).toContain('1000 events');
  const padded = { events: [{ ...event({ user: ana.email!, time: now() }), note: 'x'.repeat(1024 * 1024) }] };
  const large = await post(padded);
  expect(large.status).toBe(413);
  expect(String(large.body.message)).toContain('1 MiB');
  expect(await wallet(running.deps.ctx, org.id, ana.id)).toBe(before);
});

it('sends a low-balance DM after the batch is answered, once', async () => {
  dms.length = 0;
  const left = await wallet(running.deps.ctx, org.id, ana.id);
  // Spend down to under 5% of the 10,000 received this month.
  const answer = await post({
    events: [event({ user: ana.email!, time: now(), input_tokens: Number(left) - 400, output_tokens: 0 })],
  });
  expect(answer.body).toMatchObject({ accepted: 1 });
  for (let waited = 0; dms.length === 0 && waited < 5_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  expect(dms).toEqual([{ to: 'U0ANA', summary: 'Your AI token balance is running low' }]);
  await post({ events: [event({ user: ana.email!, time: now(), input_tokens: 10, output_tokens: 0 })] });
  await new Promise((r) => setTimeout(r, 300));
  expect(dms).toHaveLength(1);
});

it('a settle through the gateway API alerts as /v1/usage does: one DM past a threshold, however the debits come', async () => {
  dms.length = 0;
  const ben = await fundedSlackMember('Ben', 'U0BEN');
  const allot = new AllotClient({ baseUrl: started.baseUrl, apiKey: key });
  const id = uniqueKey('call');
  expect(await allot.reserve({ id, user: ben.email!, tokens: 9_000, model: 'gpt-4o' })).toMatchObject({
    status: 'held',
  });
  // 8,500 of the 10,000 received this month: 15 % left, past the 20 % threshold.
  expect(await allot.settle(id, { input_tokens: 8_000, output_tokens: 500 })).toMatchObject({ used_tokens: 8_500 });
  for (let waited = 0; dms.length === 0 && waited < 5_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  expect(dms).toEqual([{ to: 'U0BEN', summary: 'Your AI token balance is running low' }]);
  // Usage right after, by the other route: the same threshold, no second message.
  const more = await post({
    events: [event({ user: 'slack:U0BEN', time: now(), input_tokens: 100, output_tokens: 0 })],
  });
  expect(more.body).toMatchObject({ accepted: 1 });
  allot.close();
  await new Promise((r) => setTimeout(r, 500));
  expect(dms).toEqual([{ to: 'U0BEN', summary: 'Your AI token balance is running low' }]);
});
