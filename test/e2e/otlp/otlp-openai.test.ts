import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { auditLedger } from '../../../src/ledger/ledger.usecases';
import { operatorActor } from '../../../src/lib/context';
import type { RunningAllot } from '../../../src/main';
import type { Member, Organisation } from '../../../src/members/members.repository';
import { createApiKey } from '../../../src/usage/api-keys.usecases';
import { makeMember, makeOrganisation, uniqueKey } from '../../support/fixtures';
import { startRunningAllot } from '../../support/running-allot';
import { fund, usageSnapshot, wallet } from '../../usage/support';
import { type FakeOpenAi, fakeModel, fakeUsage, startFakeOpenAi } from '../reservations/fake-openai';
import { storedEvents } from './otlp-support';

// The official @opentelemetry/instrumentation-openai around the real `openai` client, in an application
// of its own (instrumented-openai-app.cjs) that exports to a running Allot with nothing but the standard
// OTEL_* environment variables, calling a local fake OpenAI-compatible server.

const app = path.join(path.dirname(fileURLToPath(import.meta.url)), 'instrumented-openai-app.cjs');
const run = promisify(execFile);

let started: Awaited<ReturnType<typeof startRunningAllot>>;
let running: RunningAllot;
let org: Organisation;
let ana: Member;
let apiKey: string;
let model: FakeOpenAi;

beforeAll(async () => {
  started = await startRunningAllot();
  running = started.running;
  org = await makeOrganisation(running.deps.ctx);
  ana = await makeMember(running.deps.ctx, org.id, { email: `${uniqueKey('ana')}@example.com` });
  await fund(running.deps.ctx, org.id, [ana.id], 10_000n);
  const key = await createApiKey(running.deps.ctx, { orgId: org.id, actor: operatorActor, name: 'app' });
  if (!key.ok) throw new Error(key.failure);
  apiKey = key.value.key;
  model = await startFakeOpenAi();
});

afterAll(async () => {
  if (running) expect(await auditLedger(running.deps.ctx, { orgId: org.id })).toEqual([]);
  await started?.stop();
  await model?.close();
});

/** Runs the instrumented application once, as `node instrumented-openai-app.cjs` with the README's variables (gzip included). */
async function runInstrumentedApp(): Promise<Record<string, number>> {
  const { stdout } = await run(process.execPath, [app], {
    timeout: 30_000,
    env: {
      PATH: process.env.PATH ?? '',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${started.baseUrl}/v1/traces`,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: `Authorization=Bearer%20${apiKey}`,
      OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'gzip',
      OTEL_SERVICE_NAME: 'summariser',
      OPENAI_BASE_URL: model.baseURL,
      ALLOT_TEST_USER: ana.email!,
    },
  });
  return JSON.parse(stdout.trim()) as Record<string, number>;
}

it("debits the member's wallet by exactly the tokens of the model's answer, once per call", async () => {
  const usage = await runInstrumentedApp();
  expect(usage).toMatchObject(fakeUsage);
  expect(model.requests).toHaveLength(1);
  const debited = BigInt(fakeUsage.prompt_tokens + fakeUsage.completion_tokens);
  expect(await wallet(running.deps.ctx, org.id, ana.id)).toBe(10_000n - debited);
  const [event] = await storedEvents(running.deps.ctx, org.id);
  expect(event).toMatchObject({
    member_id: String(ana.id),
    model: fakeModel,
    input_tokens: String(fakeUsage.prompt_tokens),
    output_tokens: String(fakeUsage.completion_tokens),
  });
  expect(event!.event_id).toMatch(/^[0-9a-f]{32}-[0-9a-f]{16}$/);

  // A second call is a second span (a new id): debited once more, by its own tokens.
  await runInstrumentedApp();
  expect(await wallet(running.deps.ctx, org.id, ana.id)).toBe(10_000n - 2n * debited);
  const snapshot = await usageSnapshot(running.deps.ctx, org.id);
  expect(Number(snapshot.events)).toBe(2);
});
