import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditLedger } from '../../../src/ledger/ledger.usecases';
import { operatorActor } from '../../../src/lib/context';
import type { RunningAllot } from '../../../src/main';
import type { Organisation } from '../../../src/members/members.repository';
import { addMember } from '../../../src/members/members.usecases';
import type { PlatformSender } from '../../../src/notify/notifier';
import { getHolding } from '../../../src/reservations/reservations.usecases';
import { createApiKey } from '../../../src/usage/api-keys.usecases';
import { setOperationCategory } from '../../../src/usage/otlp.usecases';
import { makeOrganisation, uniqueKey } from '../../support/fixtures';
import { startRunningAllot } from '../../support/running-allot';
import { fund, usageSnapshot, wallet } from '../../usage/support';
import {
  capturePartialSuccesses,
  eventIdOf,
  exportAgain,
  genAi,
  type Protocol,
  recordSpans,
  storedEvents,
  traceAndExport,
} from './otlp-support';

// POST /v1/traces end to end with the official OpenTelemetry exporters, protobuf and JSON: a running
// Allot, spans made by the SDK's TracerProvider and exported as an instrumented application exports
// them. Nothing on these paths is a hand-built payload.

let started: Awaited<ReturnType<typeof startRunningAllot>>;
let running: RunningAllot;
let org: Organisation;
let target: { url: string; apiKey: string };
let baseUrl: string;
const partials = capturePartialSuccesses();

const dms: { to: string; summary: string }[] = [];

/** A member with an email, a Slack identity (for direct messages) and `tokens` in their wallet. */
async function person(tokens: bigint): Promise<{ id: bigint; email: string; slackId: string }> {
  const email = `${uniqueKey('p')}@example.com`;
  const slackId = `U${uniqueKey('').slice(1, 9).toUpperCase()}`;
  const created = await addMember(running.deps.ctx, {
    orgId: org.id,
    displayName: 'Ana',
    email,
    identity: { platform: 'slack', externalId: slackId, workspaceId: 'T1' },
    actor: operatorActor,
  });
  if (!created.ok) throw new Error(created.failure);
  if (tokens > 0n) await fund(running.deps.ctx, org.id, [created.value.id], tokens);
  return { id: created.value.id, email, slackId };
}

const balanceOf = (member: { id: bigint }) => wallet(running.deps.ctx, org.id, member.id);

beforeAll(async () => {
  started = await startRunningAllot();
  running = started.running;
  baseUrl = started.baseUrl;
  org = await makeOrganisation(running.deps.ctx);
  const key = await createApiKey(running.deps.ctx, { orgId: org.id, actor: operatorActor, name: 'collector' });
  if (!key.ok) throw new Error(key.failure);
  target = { url: `${baseUrl}/v1/traces`, apiKey: key.value.key };
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

beforeEach(() => partials.clear());

afterAll(async () => {
  if (running) expect(await auditLedger(running.deps.ctx, { orgId: org.id })).toEqual([]);
  await started?.stop();
});

describe.each<Protocol>(['http/protobuf', 'http/json'])('the official %s exporter', (protocol) => {
  it("debits each GenAI span's tokens from the member's wallet, as one usage event per span", async () => {
    const ana = await person(100_000n);
    const spans = await traceAndExport(protocol, target, [
      { attributes: genAi(ana.email, 1_200, 300) },
      { attributes: genAi(ana.email, 50, 7, { 'gen_ai.operation.name': 'embeddings' }) },
    ]);
    expect(await balanceOf(ana)).toBe(100_000n - 1_557n);
    const stored = (await storedEvents(running.deps.ctx, org.id)).filter((row) => row.member_id === String(ana.id));
    expect(stored.map((row) => row.event_id).sort()).toEqual(spans.map(eventIdOf).sort());
    const first = stored.find((row) => row.event_id === eventIdOf(spans[0]!))!;
    // The model that answered is the one priced; the time is the span's end.
    expect(first).toMatchObject({ model: 'gpt-4o-2024-08-06', input_tokens: '1200', output_tokens: '300' });
    const endMs = spans[0]!.endTime[0] * 1_000 + Math.floor(spans[0]!.endTime[1] / 1_000_000);
    expect(new Date(first.event_at).getTime()).toBe(endMs);
    expect(partials.seen).toEqual([]);
  });

  it('reads the user from the resource when the span names none (OTEL_RESOURCE_ATTRIBUTES=user.email=…)', async () => {
    const ben = await person(10_000n);
    await traceAndExport(protocol, target, [{ attributes: genAi(undefined, 100, 20) }], {
      resource: { 'user.email': ben.email },
    });
    expect(await balanceOf(ben)).toBe(10_000n - 120n);
  });

  it('exporting the same spans again changes nothing: each is a duplicate by its trace and span id', async () => {
    const cleo = await person(10_000n);
    const spans = await recordSpans([
      { attributes: genAi(cleo.email, 400, 100) },
      { attributes: genAi(cleo.email, 10, 5) },
    ]);
    expect(await exportAgain(protocol, target, spans)).toBe(0);
    expect(await balanceOf(cleo)).toBe(10_000n - 515n);
    const before = await usageSnapshot(running.deps.ctx, org.id);
    // A retry of the same export, and the same spans through the other encoding.
    expect(await exportAgain(protocol, target, spans)).toBe(0);
    expect(await exportAgain(protocol === 'http/json' ? 'http/protobuf' : 'http/json', target, spans)).toBe(0);
    expect(await usageSnapshot(running.deps.ctx, org.id)).toEqual(before);
    expect(await balanceOf(cleo)).toBe(10_000n - 515n);
  });

  it('ignores spans without GenAI usage and says how many, without rejecting them', async () => {
    const dan = await person(10_000n);
    const before = await usageSnapshot(running.deps.ctx, org.id);
    await traceAndExport(protocol, target, [
      { name: 'GET /orders', attributes: { 'http.request.method': 'GET', 'user.email': dan.email } },
      { name: 'SELECT orders', attributes: { 'db.system.name': 'postgresql' } },
    ]);
    expect(await usageSnapshot(running.deps.ctx, org.id)).toEqual(before);
    // SimpleSpanProcessor exports each span on its own: one warning (0 rejected) per export.
    expect(partials.seen).toHaveLength(2);
    for (const partial of partials.seen) {
      expect(Number(partial.rejectedSpans ?? 0)).toBe(0);
      expect(partial.errorMessage).toContain('1 span without GenAI usage');
      expect(partial.errorMessage).toContain('was ignored');
    }
  });

  it('rejects a span whose user is no member, saying so, and keeps the others of the export', async () => {
    const eve = await person(10_000n);
    const spans = await recordSpans([
      { attributes: genAi('nobody@example.com', 100, 10) },
      { attributes: genAi(eve.email, 100, 10) },
    ]);
    expect(await exportAgain(protocol, target, spans)).toBe(0);
    expect(await balanceOf(eve)).toBe(10_000n - 110n);
    expect(partials.seen).toHaveLength(1);
    expect(Number(partials.seen[0]!.rejectedSpans)).toBe(1);
    expect(partials.seen[0]!.errorMessage).toContain(`span ${eventIdOf(spans[0]!)}`);
    expect(partials.seen[0]!.errorMessage).toContain('no member of this organisation');
    expect(partials.seen[0]!.errorMessage).toContain('"nobody@example.com"');
  });
});

describe('what else a span may say', () => {
  it('gzip-compressed exports are inflated and recorded', async () => {
    const fay = await person(10_000n);
    await traceAndExport('http/protobuf', target, [{ attributes: genAi(fay.email, 70, 30) }], { gzip: true });
    await traceAndExport('http/json', target, [{ attributes: genAi(fay.email, 7, 3) }], { gzip: true });
    expect(await balanceOf(fay)).toBe(10_000n - 110n);
  });

  it('takes the category from allot.category, else from the admin mapping of gen_ai.operation.name, else the default', async () => {
    const gus = await person(10_000n);
    const mapped = await setOperationCategory(running.deps.ctx, {
      orgId: org.id,
      actor: operatorActor,
      operation: 'execute_tool',
      category: 'agents',
    });
    expect(mapped.ok).toBe(true);
    const spans = await traceAndExport('http/protobuf', target, [
      { attributes: genAi(gus.email, 10, 1, { 'allot.category': 'review' }) },
      { attributes: genAi(gus.email, 10, 1, { 'gen_ai.operation.name': 'execute_tool' }) },
      { attributes: genAi(gus.email, 10, 1, { 'gen_ai.operation.name': 'chat' }) },
    ]);
    const byId = new Map((await storedEvents(running.deps.ctx, org.id)).map((row) => [row.event_id, row.category]));
    expect(spans.map((span) => byId.get(eventIdOf(span)))).toEqual(['review', 'agents', 'other']);
  });

  it('settles the reservation a span names instead of debiting a second time, and a re-export settles nothing more', async () => {
    const hal = await person(10_000n);
    const reservationId = uniqueKey('call');
    const reserved = await fetch(`${baseUrl}/v1/reservations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${target.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: reservationId, user: hal.email, tokens: 4_000, model: 'gpt-4o' }),
    });
    expect(reserved.status).toBe(201);
    const spans = await traceAndExport('http/protobuf', target, [
      // No user on the span: the reservation knows whose call it was.
      { attributes: genAi(undefined, 1_200, 350, { 'allot.reservation_id': reservationId }) },
    ]);
    expect(partials.seen).toEqual([]);
    expect(await getHolding(running.deps.ctx, { orgId: org.id, memberId: hal.id })).toEqual({
      balance: 10_000n - 1_550n,
      held: 0n,
      available: 10_000n - 1_550n,
    });
    expect(await exportAgain('http/json', target, spans)).toBe(0);
    expect(await balanceOf(hal)).toBe(10_000n - 1_550n);
    const settled = await fetch(`${baseUrl}/v1/reservations/${reservationId}/settle`, {
      method: 'POST',
      headers: { authorization: `Bearer ${target.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-2024-08-06', input_tokens: 1_200, output_tokens: 350 }),
    });
    // The gateway settling the same call over HTTP as well is answered as a replay.
    expect(await settled.json()).toMatchObject({ status: 'settled', replayed: true });
    expect(await balanceOf(hal)).toBe(10_000n - 1_550n);
  });

  it('a debit through spans sends the low-balance DM, and the spans are counted in /metrics', async () => {
    const ivy = await person(10_000n);
    await traceAndExport('http/protobuf', target, [
      { attributes: genAi(ivy.email, 9_700, 0) },
      { name: 'GET /health', attributes: { 'http.request.method': 'GET' } },
      { attributes: genAi('nobody@example.com', 1, 1) },
    ]);
    for (let waited = 0; !dms.some((dm) => dm.to === ivy.slackId) && waited < 5_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(dms.filter((dm) => dm.to === ivy.slackId)).toEqual([
      { to: ivy.slackId, summary: 'Your AI token balance is running low' },
    ]);
    const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^allot_otlp_spans_total\{outcome="accepted"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^allot_otlp_spans_total\{outcome="ignored"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^allot_otlp_spans_total\{outcome="rejected"\} [1-9]\d*$/m);
  });
});
