import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllotApiError, AllotClient, InsufficientTokensError } from '../../../src/gateway/allot-client';
import {
  meteredChatCompletion,
  meteredChatCompletionStream,
  ReservationNotHeldError,
  tokensToReserve,
} from '../../../src/gateway/openai';
import { auditLedger } from '../../../src/ledger/ledger.usecases';
import { operatorActor } from '../../../src/lib/context';
import type { RunningAllot } from '../../../src/main';
import type { Organisation } from '../../../src/members/members.repository';
import { addMember } from '../../../src/members/members.usecases';
import { createApiKey } from '../../../src/usage/api-keys.usecases';
import { makeOrganisation, uniqueKey } from '../../support/fixtures';
import { startRunningAllot } from '../../support/running-allot';
import { fund } from '../../usage/support';
import { type FakeOpenAi, fakeModel, startFakeOpenAi } from './fake-openai';

// The gateway API end to end: a running Allot, its HTTP routes, the typed client, and the official
// `openai` client pointed at a local fake model server through the metering wrapper.

let started: Awaited<ReturnType<typeof startRunningAllot>>;
let running: RunningAllot;
let baseUrl: string;
let org: Organisation;
let apiKey: string;
let allot: AllotClient;
let openaiServer: FakeOpenAi;
let openai: OpenAI;

/** A member with an email and `tokens` in their wallet; returns their email. */
async function person(tokens: bigint): Promise<string> {
  const email = `${uniqueKey('p')}@example.com`;
  const created = await addMember(running.deps.ctx, { orgId: org.id, displayName: 'Ana', email, actor: operatorActor });
  if (!created.ok) throw new Error(created.failure);
  if (tokens > 0n) await fund(running.deps.ctx, org.id, [created.value.id], tokens);
  return email;
}

beforeAll(async () => {
  started = await startRunningAllot();
  running = started.running;
  baseUrl = started.baseUrl;
  org = await makeOrganisation(running.deps.ctx);
  const key = await createApiKey(running.deps.ctx, { orgId: org.id, actor: operatorActor, name: 'gateway' });
  if (!key.ok) throw new Error(key.failure);
  apiKey = key.value.key;
  allot = new AllotClient({ baseUrl, apiKey });
  openaiServer = await startFakeOpenAi();
  openai = new OpenAI({ apiKey: 'sk-test', baseURL: openaiServer.baseURL, maxRetries: 0 });
});

afterAll(async () => {
  if (running) expect(await auditLedger(running.deps.ctx, { orgId: org.id })).toEqual([]);
  await started?.stop();
  await openaiServer?.close();
});

async function call(method: string, route: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${baseUrl}${route}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

describe('the reservations API', () => {
  it('holds tokens and answers a retry with the same id and body as the first time', async () => {
    const user = await person(10_000n);
    const first = await call('POST', '/v1/reservations', { id: 'gw-1', user, tokens: 4_000, model: 'gpt-4o' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ reservation_id: 'gw-1', status: 'held', tokens: 4_000, available: 6_000 });
    expect(Date.parse(String(first.body.expires_at)) - running.deps.ctx.clock.now().getTime()).toBe(300_000);
    const again = await call('POST', '/v1/reservations', { id: 'gw-1', user, tokens: 4_000, model: 'gpt-4o' });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ reservation_id: 'gw-1', tokens: 4_000, expires_at: first.body.expires_at });
    const other = await call('POST', '/v1/reservations', { id: 'gw-1', user, tokens: 4_001 });
    expect(other.status).toBe(409);
    expect(other.body.error).toBe('idempotency_conflict');
    expect(await allot.entitlement(user)).toMatchObject({
      balance: 10_000,
      held: 4_000,
      available: 6_000,
      has_access: true,
      next_allowance_at: null,
    });
  });

  it('refuses with 402 and a message the person can read when too few tokens are available', async () => {
    const user = await person(1_000n);
    const refused = await call('POST', '/v1/reservations', { id: uniqueKey('gw'), user, tokens: 1_500 });
    expect(refused.status).toBe(402);
    expect(refused.body).toEqual({
      error: 'insufficient_tokens',
      available: 1_000,
      message:
        'You have 1,000 tokens available; this call needs 1,500. Ask for more in Slack or Teams with /request-tokens.',
    });
    expect((await allot.entitlement(user)).held).toBe(0);
  });

  it('settles with the usage: less than held frees the rest, and a retried settle debits nothing more', async () => {
    const user = await person(10_000n);
    await allot.reserve({ id: 'gw-settle', user, tokens: 2_000, model: 'gpt-4o' });
    const usage = { model: 'gpt-4o', input_tokens: 500, output_tokens: 250, category: 'code' };
    const settled = await call('POST', '/v1/reservations/gw-settle/settle', usage);
    expect(settled.status).toBe(200);
    expect(settled.body).toMatchObject({
      reservation_id: 'gw-settle',
      status: 'settled',
      used_tokens: 750,
      held_tokens: 2_000,
      released_tokens: 1_250,
      extra_tokens: 0,
      replayed: false,
      settled_after_expiry: false,
      unpriced_models: [],
    });
    const again = await allot.settle('gw-settle', usage);
    expect(again.replayed).toBe(true);
    expect(await allot.entitlement(user)).toMatchObject({ balance: 9_250, held: 0, available: 9_250 });
  });

  it('says when the settled model has no price: the usage is debited and costs 0 until an admin sets one', async () => {
    const user = await person(1_000n);
    await allot.reserve({ id: 'gw-unpriced', user, tokens: 100 });
    const settled = await call('POST', '/v1/reservations/gw-unpriced/settle', {
      model: 'house-model-7b',
      input_tokens: 30,
      output_tokens: 20,
    });
    expect(settled.status).toBe(200);
    expect(settled.body).toMatchObject({ status: 'settled', used_tokens: 50, unpriced_models: ['house-model-7b'] });
    expect(await allot.entitlement(user)).toMatchObject({ balance: 950, held: 0 });
  });

  it('releases once; a release of a settled reservation is a 409 and changes nothing', async () => {
    const user = await person(3_000n);
    await allot.reserve({ id: 'gw-release', user, tokens: 3_000 });
    expect((await allot.entitlement(user)).has_access).toBe(false);
    expect(await allot.release('gw-release')).toMatchObject({ status: 'released', tokens: 3_000, replayed: false });
    expect((await allot.release('gw-release')).replayed).toBe(true);
    await allot.reserve({ id: 'gw-settled', user, tokens: 100 });
    await allot.settle('gw-settled', { input_tokens: 10, output_tokens: 10, model: 'gpt-4o' });
    const refused = await call('POST', '/v1/reservations/gw-settled/release');
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: 'reservation_already_resolved', status: 'settled' });
    expect(await allot.entitlement(user)).toMatchObject({ balance: 2_980, held: 0 });
  });

  it('how long Allot took to answer is on /metrics, per route, as a histogram', async () => {
    const user = await person(1_000n);
    const observed = async () => {
      const text = await (await fetch(`${baseUrl}/metrics`)).text();
      const count = (route: string) =>
        Number(
          text.match(
            new RegExp(`^allot_http_request_duration_seconds_count\\{route="${route}"\\} (\\d+)$`, 'm'),
          )?.[1] ?? 0,
        );
      return { reserves: count('/v1/reservations'), settles: count('/v1/reservations/:id/settle'), text };
    };
    const before = await observed();
    for (const id of ['gw-timed-1', 'gw-timed-2', 'gw-timed-3']) {
      await allot.reserve({ id, user, tokens: 100 });
      await allot.settle(id, { input_tokens: 10, output_tokens: 10, model: 'gpt-4o' });
    }
    const after = await observed();
    expect(after.reserves - before.reserves).toBe(3);
    expect(after.settles - before.settles).toBe(3);
    expect(after.text).toMatch(
      /^allot_http_request_duration_seconds_bucket\{le="5",route="\/v1\/reservations"\} \d+$/m,
    );
  });

  it('names the field that is wrong or missing, and changes nothing', async () => {
    const user = await person(1_000n);
    const cases: [unknown, number, Record<string, unknown>][] = [
      [{ id: 'x', user, tokens: -5 }, 400, { error: 'invalid_field', field: 'tokens' }],
      [{ id: 'x', user, tokens: 1.5 }, 400, { error: 'invalid_field', field: 'tokens' }],
      [{ id: 'x', tokens: 5 }, 400, { error: 'missing_field', field: 'user' }],
      [{ user, tokens: 5 }, 400, { error: 'missing_field', field: 'id' }],
      [{ id: 'x', user: 'nobody', tokens: 5 }, 400, { error: 'invalid_field', field: 'user' }],
      [{ id: 'x', user, tokens: 5, timeout_seconds: 7_200 }, 400, { error: 'invalid_field', field: 'timeout_seconds' }],
      [{ id: 'x', user: 'ghost@example.com', tokens: 5 }, 404, { error: 'unknown_user' }],
      ['[1,2', 400, { error: 'bad_request' }],
    ];
    for (const [body, status, expected] of cases) {
      const answer = await call('POST', '/v1/reservations', body);
      expect(answer.status, JSON.stringify(body)).toBe(status);
      expect(answer.body).toMatchObject(expected);
      expect(String(answer.body.message).length).toBeGreaterThan(10);
    }
    expect((await allot.entitlement(user)).held).toBe(0);
    const settleBad = await call('POST', '/v1/reservations/nope/settle', { input_tokens: 1, output_tokens: 1 });
    expect(settleBad.status).toBe(404);
    // A settle's usage is checked as /v1/usage checks it, and the answer names the field; the hold stays.
    await allot.reserve({ id: 'gw-bad-settle', user, tokens: 100, model: 'gpt-4o' });
    const settleCases: [Record<string, unknown>, Record<string, unknown>][] = [
      [{ output_tokens: 5 }, { error: 'missing_field', field: 'input_tokens' }],
      [
        { input_tokens: -1, output_tokens: 5 },
        { error: 'invalid_tokens', field: 'input_tokens' },
      ],
      [
        { input_tokens: 1, output_tokens: 'many' },
        { error: 'invalid_tokens', field: 'output_tokens' },
      ],
      [
        { input_tokens: 0, output_tokens: 0 },
        { error: 'no_tokens', field: 'input_tokens' },
      ],
      [
        { input_tokens: 1, output_tokens: 1, time: 'yesterday' },
        { error: 'invalid_time', field: 'time' },
      ],
      [
        { input_tokens: 1, output_tokens: 1, time: '2999-01-01T00:00:00Z' },
        { error: 'time_in_future', field: 'time' },
      ],
      [
        { input_tokens: 1, output_tokens: 1, model: 'GPT 4o!' },
        { error: 'invalid_model', field: 'model' },
      ],
      [
        { input_tokens: 1, output_tokens: 1, category: 'no spaces' },
        { error: 'invalid_category', field: 'category' },
      ],
    ];
    for (const [body, expected] of settleCases) {
      const answer = await call('POST', '/v1/reservations/gw-bad-settle/settle', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body, JSON.stringify(body)).toMatchObject(expected);
    }
    expect(await allot.entitlement(user)).toMatchObject({ balance: 1_000, held: 100 });
    expect((await allot.release('gw-bad-settle')).status).toBe('released');
    expect(
      (await call('POST', '/v1/reservations', { id: 'x', user, tokens: 5 }, { authorization: 'Bearer nope' })).status,
    ).toBe(401);
    expect((await call('POST', '/v1/reservations', 'id=x', { 'content-type': 'text/plain' })).status).toBe(415);
    const get = await call('GET', '/v1/reservations');
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect((await call('GET', '/v1/entitlements')).body).toMatchObject({ error: 'missing_field', field: 'user' });
    // A "+" left unencoded in the query arrives as a space: the answer says to URL-encode.
    const unencoded = await call('GET', '/v1/entitlements?user=bo+ops@example.com');
    expect(unencoded.status).toBe(400);
    expect(unencoded.body).toMatchObject({ error: 'invalid_field', field: 'user' });
    expect(String(unencoded.body.message)).toContain('URL-encode');
  });
});

describe('the official openai client, metered through the wrapper', () => {
  it('reserves before a chat completion and settles with the usage the API reported', async () => {
    const user = await person(10_000n);
    const params = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'Say hello' }], max_tokens: 200 };
    const response = await meteredChatCompletion(openai, params, { allot, user, id: 'oa-1', category: 'chat' });
    expect(response.choices[0]?.message.content).toBe('Hello!');
    expect(tokensToReserve(params)).toBeGreaterThan(200);
    expect(await allot.entitlement(user)).toMatchObject({ balance: 10_000 - 150, held: 0 });
    // The settle stored the usage under the model the API answered with.
    const retry = { input_tokens: 120, output_tokens: 30, model: fakeModel, category: 'chat' };
    expect((await allot.settle('oa-1', retry)).replayed).toBe(true);
    await expect(allot.settle('oa-1', { ...retry, output_tokens: 31 })).rejects.toMatchObject({
      status: 409,
      code: 'idempotency_conflict',
    });
  });

  it('streams, asking for usage in the last chunk, and settles with it when the stream ends', async () => {
    const user = await person(10_000n);
    const before = openaiServer.requests.length;
    const stream = await meteredChatCompletionStream(
      openai,
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'Stream hello' }], max_completion_tokens: 100 },
      { allot, user },
    );
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Hello!');
    expect(openaiServer.requests[before]).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(await allot.entitlement(user)).toMatchObject({ balance: 10_000 - 150, held: 0 });
  });

  it('releases the hold when the model call fails, and when the caller stops reading a stream early', async () => {
    const user = await person(10_000n);
    await expect(
      meteredChatCompletion(
        openai,
        { model: 'gpt-4o', messages: [{ role: 'user', content: 'fail' }] },
        { allot, user },
      ),
    ).rejects.toThrow();
    expect(await allot.entitlement(user)).toMatchObject({ balance: 10_000, held: 0 });
    const stream = await meteredChatCompletionStream(
      openai,
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'Stream hello' }] },
      { allot, user },
    );
    for await (const _chunk of stream) break;
    expect(await allot.entitlement(user)).toMatchObject({ balance: 10_000, held: 0 });
  });

  it('refuses a call the person cannot afford before the model is asked', async () => {
    const user = await person(100n);
    const before = openaiServer.requests.length;
    const call = meteredChatCompletion(
      openai,
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'Write a novel' }], max_tokens: 4_000 },
      { allot, user },
    );
    await expect(call).rejects.toBeInstanceOf(InsufficientTokensError);
    await expect(call).rejects.toMatchObject({ status: 402, available: 100 });
    await expect(call).rejects.toBeInstanceOf(AllotApiError);
    expect(openaiServer.requests.length).toBe(before);
  });

  it('a retry with the id of a call that already ran is refused before the model is asked again', async () => {
    const user = await person(10_000n);
    const params = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'Say hello' }], max_tokens: 50 };
    await meteredChatCompletion(openai, params, { allot, user, id: 'oa-retry' });
    const before = openaiServer.requests.length;
    await expect(meteredChatCompletion(openai, params, { allot, user, id: 'oa-retry' })).rejects.toBeInstanceOf(
      ReservationNotHeldError,
    );
    expect(openaiServer.requests.length).toBe(before);
    expect(await allot.entitlement(user)).toMatchObject({ balance: 10_000 - 150, held: 0 });
  });

  it('when the usage cannot be settled the answer is still returned, the hold released and the error reported', async () => {
    const user = await person(10_000n);
    const errors: unknown[] = [];
    const response = await meteredChatCompletion(
      openai,
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'zero' }], max_tokens: 50 },
      { allot, user, onSettleError: (error) => errors.push(error) },
    );
    expect(response.choices[0]?.message.content).toBe('Hello!');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ status: 400, code: 'no_tokens' });
    expect(await allot.entitlement(user)).toMatchObject({ balance: 10_000, held: 0 });
  });
});
