import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import protobuf from 'protobufjs/light.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLedger } from '../../../src/ledger/ledger.usecases';
import { operatorActor } from '../../../src/lib/context';
import type { RunningAllot } from '../../../src/main';
import type { Member, Organisation } from '../../../src/members/members.repository';
import { createApiKey } from '../../../src/usage/api-keys.usecases';
import protocol from '../../../src/usage/otlp-protocol.json';
import { makeMember, makeOrganisation, uniqueKey } from '../../support/fixtures';
import { startRunningAllot } from '../../support/running-allot';
import { fund, usageSnapshot, wallet } from '../../usage/support';
import { genAi, type Protocol, readExportResponse, recordSpans, serializeSpans } from './otlp-support';

// POST /v1/traces refuses what OTLP/HTTP says to refuse, as OTLP says (a google.rpc.Status in the
// request's format), and changes nothing for what it refused. Bodies are made by the exporters' own
// serializer from spans the SDK recorded, then broken on purpose.

let started: Awaited<ReturnType<typeof startRunningAllot>>;
let running: RunningAllot;
let org: Organisation;
let ana: Member;
let apiKey: string;
let url: string;

const statusType = protobuf.Root.fromJSON(protocol.descriptor as protobuf.INamespace).lookupType('google.rpc.Status');
const contentType: Record<Protocol, string> = {
  'http/protobuf': 'application/x-protobuf',
  'http/json': 'application/json',
};

beforeAll(async () => {
  started = await startRunningAllot();
  running = started.running;
  url = `${started.baseUrl}/v1/traces`;
  org = await makeOrganisation(running.deps.ctx);
  ana = await makeMember(running.deps.ctx, org.id, { email: `${uniqueKey('ana')}@example.com` });
  await fund(running.deps.ctx, org.id, [ana.id], 100_000n);
  const key = await createApiKey(running.deps.ctx, { orgId: org.id, actor: operatorActor, name: 'collector' });
  if (!key.ok) throw new Error(key.failure);
  apiKey = key.value.key;
});

afterAll(async () => {
  if (running) expect(await auditLedger(running.deps.ctx, { orgId: org.id })).toEqual([]);
  await started?.stop();
});

async function post(body: Uint8Array | string, headers: Record<string, string>) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, ...headers },
    body: typeof body === 'string' ? body : Buffer.from(body),
  });
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    retryAfter: response.headers.get('retry-after'),
    body: new Uint8Array(await response.arrayBuffer()),
  };
}

/** The google.rpc.Status of an error answer, decoded in the answer's own format. */
function statusOf(answer: { type: string; body: Uint8Array }): { code?: number; message?: string } {
  if (answer.type.startsWith('application/x-protobuf')) return statusType.toObject(statusType.decode(answer.body));
  expect(answer.type).toMatch(/^application\/json/);
  return JSON.parse(Buffer.from(answer.body).toString('utf8'));
}

/** Runs `act` and checks that nothing of the ledger or the usage tables changed. */
async function changesNothing(act: () => Promise<void>): Promise<void> {
  const before = await usageSnapshot(running.deps.ctx, org.id);
  await act();
  expect(await usageSnapshot(running.deps.ctx, org.id)).toEqual(before);
}

const oneSpan = () => recordSpans([{ attributes: genAi(ana.email!, 100, 10) }]);

describe('bodies that are not an ExportTraceServiceRequest', () => {
  it('answers 400 with a protobuf Status to protobuf that does not decode', async () => {
    const body = serializeSpans('http/protobuf', await oneSpan());
    await changesNothing(async () => {
      for (const broken of [body.slice(0, body.length - 7), Uint8Array.from([0x0a, 0xff, 0xff, 0x01, 0x02])]) {
        const answer = await post(broken, { 'content-type': 'application/x-protobuf' });
        expect(answer.status).toBe(400);
        expect(answer.type).toMatch(/^application\/x-protobuf/);
        expect(statusOf(answer)).toMatchObject({ code: 3 });
        expect(statusOf(answer).message).toContain('not a protobuf ExportTraceServiceRequest');
      }
    });
  });

  it('answers 400 with a JSON Status to JSON that is not OTLP/JSON, naming where it goes wrong', async () => {
    await changesNothing(async () => {
      for (const [body, says] of [
        ['{not json', 'not valid JSON'],
        ['[]', 'not a JSON object'],
        ['{"resourceSpans":{"scopeSpans":[]}}', 'look at resourceSpans'],
        [
          '{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":"many"}]}]}]}',
          'resourceSpans[0].scopeSpans[0].spans[0].attributes',
        ],
      ] as const) {
        const answer = await post(body, { 'content-type': 'application/json' });
        expect(answer.status, body).toBe(400);
        expect(statusOf(answer).message, body).toContain(says);
      }
    });
  });

  it('answers 415 to any other Content-Type, naming the two it takes, before reading the body', async () => {
    const body = serializeSpans('http/protobuf', await oneSpan());
    await changesNothing(async () => {
      for (const type of ['text/plain', 'application/protobuf', 'application/grpc', 'application/octet-stream']) {
        const answer = await post(body, { 'content-type': type });
        expect(answer.status, type).toBe(415);
        expect(statusOf(answer).message).toContain('application/x-protobuf');
        expect(statusOf(answer).message).toContain(type);
      }
      const bare = await post(body, {});
      expect(bare.status).toBe(415);
    });
  });

  it('answers 400 to a body that does not inflate as its Content-Encoding says, and 415 to an unknown encoding', async () => {
    const body = serializeSpans('http/protobuf', await oneSpan());
    await changesNothing(async () => {
      const notGzip = await post(body, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' });
      expect(notGzip.status).toBe(400);
      expect(statusOf(notGzip).message).toContain('does not inflate as Content-Encoding "gzip"');
      const truncated = gzipSync(body).subarray(0, 20);
      const cut = await post(truncated, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' });
      expect(cut.status).toBe(400);
      const unknown = await post(body, { 'content-type': 'application/x-protobuf', 'content-encoding': 'compress' });
      expect(unknown.status).toBe(415);
      expect(statusOf(unknown).message).toContain('send gzip or none');
    });
  });
});

describe('limits, as /v1/usage has them', () => {
  it('answers 413 to more than 1000 spans, and to more than 1 MiB (counted inflated)', async () => {
    const many = await recordSpans(Array.from({ length: 1_001 }, () => ({ attributes: genAi(ana.email!, 1, 1) })));
    const large = await recordSpans([{ attributes: genAi(ana.email!, 1, 1, { note: 'x'.repeat(1_100_000) }) }]);
    await changesNothing(async () => {
      for (const format of ['http/protobuf', 'http/json'] as const) {
        const tooMany = await post(serializeSpans(format, many), { 'content-type': contentType[format] });
        expect(tooMany.status, format).toBe(413);
        expect(statusOf(tooMany).message).toContain('At most 1000 spans per request (got 1001)');
        const tooLarge = await post(serializeSpans(format, large), { 'content-type': contentType[format] });
        expect(tooLarge.status, format).toBe(413);
        // A small gzip that inflates beyond the limit is refused as it inflates.
        const bomb = gzipSync(serializeSpans(format, large));
        expect(bomb.length).toBeLessThan(20_000);
        const inflated = await post(bomb, { 'content-type': contentType[format], 'content-encoding': 'gzip' });
        expect(inflated.status, format).toBe(413);
        expect(statusOf(inflated).message).toContain('1 MiB');
      }
    });
  });

  it('answers 401 in OTLP form without a live key', async () => {
    const body = serializeSpans('http/protobuf', await oneSpan());
    const answer = await post(body, { 'content-type': 'application/x-protobuf', authorization: 'Bearer allot_nope' });
    expect(answer.status).toBe(401);
    expect(statusOf(answer)).toMatchObject({ code: 16 });
    expect(statusOf(answer).message).toContain('unknown or revoked');
  });

  it('answers 429 with Retry-After beyond 4 requests in flight per key, counting /v1/usage and /v1/traces together', async () => {
    // Four exports whose bodies have not finished arriving hold the key's four places.
    const held = Array.from({ length: 4 }, () => {
      const req = request(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${apiKey}`,
          'content-type': 'application/x-protobuf',
          'content-length': '10',
        },
      });
      req.on('error', () => {});
      req.write(Buffer.from([0x0a]));
      return req;
    });
    try {
      // An empty export (no spans) changes nothing: send it until the four are in, as a probe.
      let probe = await post(new Uint8Array(0), { 'content-type': 'application/x-protobuf' });
      for (let waited = 0; probe.status !== 429 && waited < 40; waited++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        probe = await post(new Uint8Array(0), { 'content-type': 'application/x-protobuf' });
      }
      const body = serializeSpans('http/protobuf', await oneSpan());
      await changesNothing(async () => {
        const answer = await post(body, { 'content-type': 'application/x-protobuf' });
        expect(answer.status).toBe(429);
        expect(answer.retryAfter).toBe('1');
        expect(statusOf(answer)).toMatchObject({ code: 8 });
        expect(statusOf(answer).message).toContain('At most 4 requests per key at once');
        const usage = await fetch(`${started.baseUrl}/v1/usage`, {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
          body: '{"events":[]}',
        });
        expect(usage.status).toBe(429);
      });
    } finally {
      for (const req of held) req.destroy();
    }
  });

  it('answers 405 with "Allow: POST" to any other method', async () => {
    const answer = await fetch(url, { method: 'GET', headers: { authorization: `Bearer ${apiKey}` } });
    expect([answer.status, answer.headers.get('allow')]).toEqual([405, 'POST']);
  });
});

describe('spans whose figures are wrong are rejected one by one, saying what to fix', () => {
  it.each<Protocol>(['http/protobuf', 'http/json'])(
    'over %s: negative, fractional or absurd tokens, none at all, a span in the future',
    async (format) => {
      const future = new Date(Date.now() + 60 * 60 * 1_000);
      const spans = await recordSpans([
        { attributes: genAi(ana.email!, -5, 10) },
        { attributes: genAi(ana.email!, 1.5, 10) },
        { attributes: genAi(ana.email!, 5_000_000_000_000, 10) },
        { attributes: genAi(ana.email!, 0, 0) },
        { attributes: genAi(ana.email!, 100, 10), end: future },
        { attributes: genAi(ana.email!, 100, 10, { 'gen_ai.response.model': 'gpt 4o!' }) },
        { attributes: { 'gen_ai.usage.input_tokens': 10, 'user.email': ana.email! } },
      ]);
      const balance = await wallet(running.deps.ctx, org.id, ana.id);
      await changesNothing(async () => {
        const answer = await post(serializeSpans(format, spans), { 'content-type': contentType[format] });
        expect(answer.status).toBe(200);
        expect(answer.type.startsWith(contentType[format])).toBe(true);
        const response = readExportResponse(format, answer.body) as {
          partialSuccess?: { rejectedSpans?: number | string; errorMessage?: string };
        };
        expect(Number(response.partialSuccess?.rejectedSpans)).toBe(7);
        const message = response.partialSuccess?.errorMessage ?? '';
        expect(message).toContain('Allot rejected 7 spans.');
        expect(message.match(/must be whole numbers from 0 to 1,000,000,000/g)).toHaveLength(3);
        expect(message).toContain('it reports no tokens');
        expect(message).toContain('ends in the future');
        expect(message).toContain('must be a model name like "gpt-4o"');
        expect(message).toContain('the span names no model');
        expect(message).toContain('0 GenAI spans recorded');
      });
      expect(await wallet(running.deps.ctx, org.id, ana.id)).toBe(balance);
    },
  );
});
