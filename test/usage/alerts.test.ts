import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestClock } from '../../src/lib/clock';
import { operatorActor } from '../../src/lib/context';
import { addMember } from '../../src/members/members.usecases';
import { Notifier, type PlatformSender } from '../../src/notify/notifier';
import { reserveTokens } from '../../src/reservations/reservations.usecases';
import { createAlertRunner, sendLowBalanceAlerts } from '../../src/usage/alerts.usecases';
import { ingestUsage } from '../../src/usage/usage.usecases';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeOrganisation, uniqueKey } from '../support/fixtures';
import { event, fund, messageText } from './support';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => tdb.close());

/** A Slack stand-in that records every DM, so the test sees exactly what people would receive. */
function recordingSender(options: { fail?: boolean } = {}) {
  const sent: { to: string; summary: string; text: string }[] = [];
  const sender: PlatformSender = {
    platform: 'slack',
    async sendDirect({ identity, message }) {
      if (options.fail) throw new Error('slack is down');
      sent.push({ to: identity.externalId, summary: message.summary, text: messageText(message) });
      return {
        ok: true,
        location: { platform: 'slack', ref: { channel: identity.externalId, ts: String(sent.length) } },
      };
    },
    async update() {
      return { ok: false, reason: 'failed' };
    },
  };
  return { sent, sender };
}

async function setup(options: { fail?: boolean } = {}) {
  // Transfers carry the database's own time, so these tests run on a clock near real time.
  const clock = createTestClock(new Date());
  const ctx = createTestCtx(tdb.db, clock);
  const org = await makeOrganisation(ctx);
  const person = async (name: string, slackId: string, managerId?: bigint) => {
    const created = await addMember(ctx, {
      orgId: org.id,
      displayName: name,
      email: `${name.toLowerCase()}-${uniqueKey()}@example.com`,
      managerId: managerId ?? null,
      identity: { platform: 'slack', externalId: slackId, workspaceId: 'T1' },
      actor: operatorActor,
    });
    if (!created.ok) throw new Error(created.failure);
    return created.value;
  };
  const mia = await person('Mia', 'U0MIA');
  const ana = await person('Ana', 'U0ANA', mia.id);
  await fund(ctx, org.id, [ana.id], 1000n);
  const { sent, sender } = recordingSender(options);
  const notifier = new Notifier(() => tdb.db.orm);
  notifier.register(sender);
  let n = 0;
  const use = async (tokens: number, reuse?: ReturnType<typeof event>[]) => {
    const events = reuse ?? [
      event({
        user: ana.email!,
        time: new Date(clock.now().getTime() - 60_000 - n++).toISOString(),
        input_tokens: tokens,
        output_tokens: 0,
      }),
    ];
    const result = await ingestUsage(ctx, { orgId: org.id, events });
    if (!result.ok) throw new Error(result.failure);
    const alerts = await sendLowBalanceAlerts(
      ctx,
      { notifier },
      { orgId: org.id, debits: result.value.debits, percents: [20, 5] },
    );
    return { events, alerts };
  };
  return { ctx, clock, org, ana, mia, sent, use };
}

it('warns a member once per threshold per month: 20% left, 5% left, and overage with their manager', async () => {
  const { clock, sent, use, mia } = await setup();
  await use(700);
  expect(sent).toEqual([]);
  await use(150);
  expect(sent.map((dm) => [dm.to, dm.summary])).toEqual([['U0ANA', 'Your AI token balance is running low']]);
  expect(sent[0]!.text).toContain('20% or less left');
  expect(sent[0]!.text).toContain('150 tokens');
  const repeated = await use(10);
  expect(sent).toHaveLength(1);
  await use(100);
  expect(sent.map((dm) => dm.text.includes('5% or less left'))).toEqual([false, true]);
  const { events } = await use(100);
  expect(sent.slice(2).map((dm) => [dm.to, dm.summary])).toEqual([
    ['U0ANA', 'Your AI token balance is in overage'],
    ['U0MIA', 'Ana is in overage'],
  ]);
  // Deeper into overage, or a replay of a batch, sends nothing more this month.
  await use(10);
  await use(0, events);
  await use(0, repeated.events);
  expect(sent).toHaveLength(4);
  // Next month the thresholds are armed again: still in overage, so both are told once more.
  const now = clock.now();
  clock.set(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 2, 12)));
  const next = await use(5);
  expect(next.alerts).toEqual([{ memberId: expect.any(BigInt), threshold: 'overage', toManagerId: mia.id }]);
  expect(sent.slice(4).map((dm) => dm.to)).toEqual(['U0ANA', 'U0MIA']);
});

it('a debit that jumps past two thresholds sends one message naming the lower, and the higher never fires later', async () => {
  const { sent, use } = await setup();
  const jump = await use(960);
  expect(jump.alerts.map((alert) => alert.threshold)).toEqual(['left_5']);
  expect(sent).toHaveLength(1);
  expect(sent[0]!.text).toContain('5% or less left');
  await use(1);
  expect(sent).toHaveLength(1);
});

it('an alert that cannot be delivered never fails ingestion', async () => {
  const { use, ctx, org, ana } = await setup({ fail: true });
  const result = await use(999);
  expect(result.alerts).toEqual([]);
  const again = await ingestUsage(ctx, { orgId: org.id, events: result.events });
  expect(again.ok && again.value.duplicate).toBe(1);
  expect(ana.id).toBeTypeOf('bigint');
});

it('counts what is available: tokens held by a call in flight bring the warning forward', async () => {
  const { ctx, org, ana, sent, use } = await setup();
  // 1,000 received; a gateway holds 700 for a call in flight; 150 used leaves 850, of which 150 available.
  const held = await reserveTokens(ctx, {
    orgId: org.id,
    idempotencyKey: uniqueKey('hold'),
    user: ana.email!,
    tokens: 700n,
  });
  expect(held.ok).toBe(true);
  await use(150);
  expect(sent.map((dm) => dm.summary)).toEqual(['Your AI token balance is running low']);
  expect(sent[0]!.text).toContain('20% or less left');
  expect(sent[0]!.text).toContain('150 tokens');
});

/** `count` new people on Slack, each funded 1,000 tokens and then using 850 in one batch (past 20 % left). */
async function crossTwentyPercent(
  ctx: Awaited<ReturnType<typeof setup>>['ctx'],
  clock: Awaited<ReturnType<typeof setup>>['clock'],
  orgId: bigint,
  count: number,
  tag: string,
) {
  const people = [];
  for (let index = 0; index < count; index++) {
    const created = await addMember(ctx, {
      orgId,
      displayName: `${tag}${index}`,
      email: `${tag.toLowerCase()}${index}-${uniqueKey()}@example.com`,
      identity: { platform: 'slack', externalId: `U0${tag}${index}`, workspaceId: 'T1' },
      actor: operatorActor,
    });
    if (!created.ok) throw new Error(created.failure);
    people.push(created.value);
  }
  for (let start = 0; start < people.length; start += 40) {
    await fund(
      ctx,
      orgId,
      people.slice(start, start + 40).map((person) => person.id),
      1000n,
    );
  }
  const time = new Date(clock.now().getTime() - 60_000).toISOString();
  const used = await ingestUsage(ctx, {
    orgId,
    events: people.map((person) => event({ user: person.email!, time, input_tokens: 850, output_tokens: 0 })),
  });
  if (!used.ok) throw new Error(used.failure);
  return used;
}

it('a burst of debits from many requests alerts everyone who crossed a threshold, once each, and drops none', async () => {
  const { ctx, clock, org, sent } = await setup();
  // 120 people each cross 20% in their own request, all arriving before any alert has been sent.
  const used = await crossTwentyPercent(ctx, clock, org.id, 120, 'P');
  const notifier = new Notifier(() => tdb.db.orm);
  const { sent: burst, sender } = recordingSender();
  notifier.register(sender);
  const warnings: unknown[] = [];
  const logger = {
    warn: (...args: unknown[]) => warnings.push(args),
    error: (...args: unknown[]) => warnings.push(args),
  };
  const runner = createAlertRunner({ ctx, notifier, logger: logger as never, percents: [20, 5] });
  for (const debit of used.value.debits) runner.alertAfter(org.id, [debit]);
  // The same debits again, as a client's retry would bring them: still one alert each.
  for (const debit of used.value.debits) runner.alertAfter(org.id, [debit]);
  await runner.drain();
  expect(burst).toHaveLength(120);
  expect(new Set(burst.map((dm) => dm.to)).size).toBe(120);
  expect(burst.every((dm) => dm.summary === 'Your AI token balance is running low')).toBe(true);
  expect(warnings).toEqual([]);
  expect(sent).toEqual([]);
});

it('debits that keep coming are checked a batch at a time, at most one run per gap, and everyone is still alerted once', async () => {
  const { ctx, clock, org } = await setup();
  const used = await crossTwentyPercent(ctx, clock, org.id, 40, 'Q');
  const notifier = new Notifier(() => tdb.db.orm);
  const { sent, sender } = recordingSender();
  notifier.register(sender);
  const gapMs = 100;
  const runner = createAlertRunner({ ctx, notifier, logger: console as never, percents: [20, 5], gapMs });
  // One debit every 10 ms for 400 ms, as settles of a busy gateway arrive.
  const started = performance.now();
  for (const debit of used.value.debits) {
    runner.alertAfter(org.id, [debit]);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await runner.drain();
  const elapsed = performance.now() - started;
  expect(sent).toHaveLength(40);
  expect(new Set(sent.map((dm) => dm.to)).size).toBe(40);
  const { runs, debits } = runner.stats();
  expect(debits).toBe(40);
  // The first debit is checked at once; after it, runs start at most every gapMs.
  expect(runs).toBeGreaterThanOrEqual(2);
  expect(runs).toBeLessThanOrEqual(Math.ceil(elapsed / gapMs) + 1);
});
