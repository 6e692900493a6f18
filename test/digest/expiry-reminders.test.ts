import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueDueAllowances, setAllowance } from '../../src/allowances/allowances.usecases';
import { digestMessage } from '../../src/digest/digest.models';
import { expiryReminderJob } from '../../src/digest/digest.module';
import { collectDigest, deliverDigest } from '../../src/digest/digest.usecases';
import { setDigestSchedule } from '../../src/digest/digest-schedules.usecases';
import { claimNotices } from '../../src/digest/expiry-notices.repository';
import { noticeLeaseMs, sendExpiryReminders } from '../../src/digest/expiry-reminders.usecases';
import { Scheduler } from '../../src/digest/scheduler';
import { expireDueLots } from '../../src/ledger/expiry.usecases';
import { auditLedger, grantTokens } from '../../src/ledger/ledger.usecases';
import { createTestClock, type TestClock } from '../../src/lib/clock';
import { type Ctx, operatorActor } from '../../src/lib/context';
import type { ExpiryInput } from '../../src/lib/expiry.models';
import { createLogger } from '../../src/lib/logger';
import { periodStart } from '../../src/lib/periods.models';
import type { Member } from '../../src/members/members.repository';
import { addMember } from '../../src/members/members.usecases';
import { type ChatMessage, plainText } from '../../src/notify/message.models';
import { Notifier, type PlatformSender } from '../../src/notify/notifier';
import { ingestUsage } from '../../src/usage/usage.usecases';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeOrganisation, uniqueKey } from '../support/fixtures';

// The reminders before tokens expire and the line after: once per lot and kind, in the member's own
// zone, however many replicas sweep, across a restart, read from the ledger (lots and expire transfers).

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => tdb.close());

const logger = createLogger('silent');

/** A Slack stand-in recording direct messages by the person's Slack id (channel posts succeed). */
function recordingNotifier() {
  const sent: { to: string; message: ChatMessage }[] = [];
  const sender: PlatformSender = {
    platform: 'slack',
    async sendDirect({ identity, message }) {
      sent.push({ to: identity.externalId, message });
      return { ok: true, location: { platform: 'slack', ref: { channel: 'D1', ts: String(sent.length) } } };
    },
    async update({ location }) {
      return { ok: true, location };
    },
    async postToChannel({ destination }) {
      return { ok: true, location: { platform: 'slack', ref: { channel: destination.ref.channelId!, ts: '1' } } };
    },
  };
  const notifier = new Notifier(() => tdb.db.orm);
  notifier.register(sender);
  const texts = (to?: string) =>
    sent
      .filter((entry) => to === undefined || entry.to === to)
      .map((entry) =>
        entry.message.blocks
          .map((block) => (block.type === 'text' ? block.lines.map(plainText).join('\n') : ''))
          .join('\n')
          .trim(),
      );
  return { notifier, sent, texts };
}

type TestCtx = Ctx & { clock: TestClock };

async function person(ctx: TestCtx, orgId: bigint, name: string, timeZone: string): Promise<Member> {
  const added = await addMember(ctx, {
    orgId,
    displayName: name,
    email: `${name.toLowerCase()}-${uniqueKey()}@example.com`,
    timeZone,
    identity: { platform: 'slack', externalId: `U${name.toUpperCase()}${orgId}`, workspaceId: 'T1' },
    actor: operatorActor,
  });
  if (!added.ok) throw new Error(added.failure);
  return added.value;
}

async function grant(ctx: TestCtx, orgId: bigint, member: Member, amount: bigint, expiry: ExpiryInput) {
  const granted = await grantTokens(ctx, {
    orgId,
    actor: operatorActor,
    recipientIds: [member.id],
    amount,
    idempotencyKey: uniqueKey(),
    expiry,
  });
  if (!granted.ok) throw new Error(granted.failure);
  return granted.value;
}

const lastDayOfYear: ExpiryInput = { kind: 'date', year: 2026, month: 12, day: 31 };

describe('reminders before tokens expire', () => {
  it('7 days and 1 day before, at 09:00 in the member’s zone, once each however many replicas sweep', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-12-01T10:00:00Z'));
    const org = await makeOrganisation(ctx);
    const ana = await person(ctx, org.id, 'Ana', 'Europe/Berlin');
    await grant(ctx, org.id, ana, 1_000n, lastDayOfYear);
    const { notifier, texts: textsTo } = recordingNotifier();
    const texts = () => textsTo(`UANA${org.id}`);
    const sweep = (replicaId: string) => sendExpiryReminders({ ctx, notifier, logger, replicaId });
    const replicas = () => Promise.all([sweep('a'), sweep('b'), sweep('c')]);

    ctx.clock.set('2026-12-24T07:59:00Z'); // 08:59 in Berlin, 7 days before the last day
    await replicas();
    expect(texts()).toEqual([]);
    ctx.clock.set('2026-12-24T08:00:00Z');
    await replicas();
    await replicas();
    expect(texts()).toEqual(['⏳ 1,000 tokens of your balance expire in 7 days, at the end of 31 Dec 2026.']);
    ctx.clock.set('2026-12-26T12:00:00Z');
    await replicas();
    expect(texts()).toHaveLength(1);
    ctx.clock.set('2026-12-30T08:00:00Z'); // 09:00 on the 30th in Berlin
    await replicas();
    await replicas();
    expect(texts()).toEqual([
      '⏳ 1,000 tokens of your balance expire in 7 days, at the end of 31 Dec 2026.',
      '⏳ 1,000 tokens of your balance expire at the end of tomorrow (31 Dec 2026).',
    ]);
    ctx.clock.set('2026-12-31T22:00:00Z'); // still the 31st in Berlin, an hour before they expire
    await replicas();
    expect(texts()).toHaveLength(2);
  });

  it('two zones: Auckland is reminded at its 09:00, Los Angeles at its own, a day of UTC apart', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-12-01T10:00:00Z'));
    const org = await makeOrganisation(ctx);
    const kiri = await person(ctx, org.id, 'Kiri', 'Pacific/Auckland');
    const lee = await person(ctx, org.id, 'Lee', 'America/Los_Angeles');
    await grant(ctx, org.id, kiri, 500n, lastDayOfYear);
    await grant(ctx, org.id, lee, 700n, lastDayOfYear);
    const { notifier, sent } = recordingNotifier();
    const sweep = () => sendExpiryReminders({ ctx, notifier, logger, replicaId: 'one' });
    const ours = [`UKIRI${org.id}`, `ULEE${org.id}`];
    const to = () => sent.map((entry) => entry.to).filter((id) => ours.includes(id));
    ctx.clock.set('2026-12-23T19:59:00Z');
    await sweep();
    expect(to()).toEqual([]);
    ctx.clock.set('2026-12-23T20:00:00Z'); // 09:00 on 24 December in Auckland (NZDT, UTC+13)
    await sweep();
    expect(to()).toEqual([`UKIRI${org.id}`]);
    ctx.clock.set('2026-12-24T16:59:00Z');
    await sweep();
    expect(to()).toHaveLength(1);
    ctx.clock.set('2026-12-24T17:00:00Z'); // 09:00 on 24 December in Los Angeles (PST, UTC−8)
    await sweep();
    expect(to()).toEqual([`UKIRI${org.id}`, `ULEE${org.id}`]);
    expect(sent.find((entry) => entry.to === `ULEE${org.id}`)!.message.summary).toBe(
      '700 tokens expire in 7 days (31 Dec 2026)',
    );
  });

  it('a lot that appears 3 days before it expires gets only the day-before reminder; lots of one day go out together', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-12-28T10:00:00Z'));
    const org = await makeOrganisation(ctx);
    const ana = await person(ctx, org.id, 'Ana', 'UTC');
    await grant(ctx, org.id, ana, 300n, lastDayOfYear);
    await grant(ctx, org.id, ana, 200n, { kind: 'instant', at: new Date('2026-12-31T18:00:00Z') });
    const { notifier, texts: textsTo } = recordingNotifier();
    const texts = () => textsTo(`UANA${org.id}`);
    const sweep = () => sendExpiryReminders({ ctx, notifier, logger, replicaId: 'one' });
    await sweep();
    expect(texts()).toEqual([]);
    ctx.clock.set('2026-12-30T09:00:00Z');
    await sweep();
    expect(texts()).toEqual(['⏳ 500 tokens of your balance expire at the end of tomorrow (31 Dec 2026).']);
  });

  it('a replica that died mid-send leaves its claim: nothing is sent again until the lease runs out, then once', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-12-01T10:00:00Z'));
    const org = await makeOrganisation(ctx);
    const ana = await person(ctx, org.id, 'Ana', 'UTC');
    await grant(ctx, org.id, ana, 1_000n, lastDayOfYear);
    ctx.clock.set('2026-12-24T09:00:00Z');
    const [lot] = await claimNoticesForTest(ctx, org.id, ana.id);
    expect(lot).toBeDefined();
    // The process restarts: a new notifier, nothing in memory, only the stored claim.
    const { notifier, texts: textsTo } = recordingNotifier();
    const texts = () => textsTo(`UANA${org.id}`);
    const sweep = () => sendExpiryReminders({ ctx, notifier, logger, replicaId: 'restarted' });
    await sweep();
    expect(texts()).toEqual([]);
    ctx.clock.advanceMs(noticeLeaseMs + 60_000);
    await sweep();
    await sweep();
    expect(texts()).toEqual(['⏳ 1,000 tokens of your balance expire in 7 days, at the end of 31 Dec 2026.']);
  });

  it('allowance tokens, which expire every period, get only the day-before reminder, for what the cap does not keep', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-12-01T10:00:00Z'));
    const org = await makeOrganisation(ctx);
    const ana = await person(ctx, org.id, 'Ana', 'UTC');
    await setAllowance(ctx, {
      orgId: org.id,
      actor: operatorActor,
      target: { memberId: ana.id },
      amount: 1_000n,
      period: 'monthly',
      rolloverCapTokens: 100n,
    });
    await issueDueAllowances(ctx, { orgId: org.id });
    const { notifier, texts: textsTo } = recordingNotifier();
    const texts = () => textsTo(`UANA${org.id}`);
    const sweep = () => sendExpiryReminders({ ctx, notifier, logger, replicaId: 'one' });
    ctx.clock.set('2026-12-24T09:00:00Z');
    await sweep();
    expect(texts()).toEqual([]);
    ctx.clock.set('2026-12-30T09:00:00Z');
    await sweep();
    expect(texts()).toEqual(['⏳ 900 tokens of your balance expire at the end of tomorrow (31 Dec 2026).']);
  });
});

/** A claim as a replica makes it just before sending, for a replica that then dies. */
async function claimNoticesForTest(ctx: TestCtx, orgId: bigint, memberId: bigint) {
  const { lotsExpiringSoon } = await import('../../src/digest/expiry-notices.repository');
  const lots = await lotsExpiringSoon(tdb.db.orm, {
    after: ctx.clock.now(),
    until: new Date(ctx.clock.now().getTime() + 8 * 86_400_000),
    limit: 100,
  });
  const mine = lots.filter((lot) => lot.orgId === orgId && lot.memberId === memberId);
  return claimNotices(tdb.db.orm, {
    orgId,
    memberId,
    lotIds: mine.map((lot) => lot.lotId),
    kind: 'expiry_7d',
    claimedBy: 'died',
    now: ctx.clock.now(),
    leaseMs: noticeLeaseMs,
  });
}

describe('after tokens expired', () => {
  it('the member is told once what expired, read from the ledger’s expire transfers, by every replica and after a restart', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-12-01T10:00:00Z'));
    const org = await makeOrganisation(ctx);
    const ana = await person(ctx, org.id, 'Ana', 'Europe/Berlin');
    await grant(ctx, org.id, ana, 1_000n, lastDayOfYear);
    const used = await ingestUsage(ctx, {
      orgId: org.id,
      events: [
        {
          id: uniqueKey('e'),
          user: ana.email!,
          model: 'gpt-4o',
          input_tokens: 300,
          output_tokens: 0,
          time: '2026-12-01T09:00:00Z',
        },
      ],
    });
    expect(used.ok).toBe(true);
    ctx.clock.set('2026-12-31T23:00:00Z'); // midnight in Berlin: the lot is due
    const first = recordingNotifier();
    await sendExpiryReminders({ ctx, notifier: first.notifier, logger, replicaId: 'a' });
    expect(first.texts(`UANA${org.id}`).filter((text) => text.includes('expired'))).toEqual([]);
    const expired = await expireDueLots(ctx, { orgId: org.id });
    expect(expired.map((expiry) => expiry.amount)).toEqual([700n]);
    await Promise.all(
      ['a', 'b'].map((replicaId) => sendExpiryReminders({ ctx, notifier: first.notifier, logger, replicaId })),
    );
    const restarted = recordingNotifier();
    await sendExpiryReminders({ ctx, notifier: restarted.notifier, logger, replicaId: 'c' });
    const told = [...first.sent, ...restarted.sent].filter(
      (entry) => entry.to === `UANA${org.id}` && entry.message.summary.includes('expired'),
    );
    expect(told).toHaveLength(1);
    expect(first.texts(`UANA${org.id}`).at(-1)).toBe(
      '700 tokens of your balance expired unused at the end of 31 Dec 2026.',
    );
    const last = told[0]!.message.blocks.at(-1);
    expect(last?.type === 'context' && plainText(last.line)).toBe('Your balance is now 0 tokens.');
    expect(await auditLedger(ctx, { orgId: org.id })).toEqual([]);
  });

  it('the scheduled job runs the sweep once per slot across two replicas', async () => {
    const ctx = createTestCtx(tdb.db, createTestClock('2026-12-01T10:00:00Z'));
    const org = await makeOrganisation(ctx);
    const ana = await person(ctx, org.id, 'Ana', 'UTC');
    await grant(ctx, org.id, ana, 1_000n, lastDayOfYear);
    const { notifier, texts: textsTo } = recordingNotifier();
    const texts = () => textsTo(`UANA${org.id}`);
    ctx.clock.set('2026-12-24T09:02:00Z');
    const replicas = [0, 1].map(() => {
      const replica = new Scheduler(ctx, logger);
      replica.schedule(expiryReminderJob({ ctx, logger, notifier }, replica.replicaId));
      return replica;
    });
    ctx.clock.set('2026-12-24T09:05:00Z');
    await Promise.all(replicas.map((replica) => replica.tick()));
    expect(texts()).toEqual(['⏳ 1,000 tokens of your balance expire in 7 days, at the end of 31 Dec 2026.']);
    await Promise.all(replicas.map((replica) => replica.stop()));
  });
});

describe('the weekly digest', () => {
  it('says how many tokens expired during the week, and each manager’s note lists their reports’ tokens expiring in the next 7 days', async () => {
    // Expire transfers carry the database's own time, as grants do (see digest.test.ts): the week
    // reported is the real current one, and the digest is posted the Monday after it.
    const realNow = new Date();
    const ctx = createTestCtx(tdb.db, createTestClock(realNow));
    const org = await makeOrganisation(ctx);
    const mia = await person(ctx, org.id, 'Mia', 'UTC');
    const added = await addMember(ctx, {
      orgId: org.id,
      displayName: 'Ana',
      email: `ana-${uniqueKey()}@example.com`,
      managerId: mia.id,
      identity: { platform: 'slack', externalId: `UANA${org.id}`, workspaceId: 'T1' },
      actor: operatorActor,
    });
    if (!added.ok) throw new Error(added.failure);
    const ana = added.value;
    await grant(ctx, org.id, ana, 400n, { kind: 'instant', at: new Date(realNow.getTime() + 3_600_000) });
    ctx.clock.set(new Date(realNow.getTime() + 2 * 3_600_000));
    expect((await expireDueLots(ctx, { orgId: org.id })).map((expiry) => expiry.amount)).toEqual([400n]);
    const monday = new Date(periodStart('week', 'UTC', realNow).getTime() + 7 * 86_400_000 + 8 * 3_600_000);
    await grant(ctx, org.id, ana, 250n, { kind: 'instant', at: new Date(monday.getTime() + 3 * 86_400_000) });
    ctx.clock.set(monday);

    const data = await collectDigest(ctx, { orgId: org.id, at: monday });
    expect(data.expiredTokens).toBe(400n);
    const digestText = digestMessage(data)
      .blocks.map((block) => (block.type === 'text' ? block.lines.map(plainText).join('\n') : ''))
      .join('\n');
    expect(digestText).toContain('⏳ 400 tokens expired unused this week.');

    const { notifier, sent, texts } = recordingNotifier();
    const schedule = await setDigestSchedule(ctx, {
      orgId: org.id,
      actor: operatorActor,
      destination: { platform: 'slack', ref: { channelId: 'CDIGEST' } },
      cron: '0 8 * * MON',
      timeZone: 'UTC',
    });
    if (!schedule.ok) throw new Error(schedule.failure);
    const deps = { ctx, notifier, logger, sleep: async () => {} };
    expect(await deliverDigest(deps, { orgId: org.id, scheduleId: schedule.value.id, slot: monday })).toBe('sent');
    const note = sent.find((entry) => entry.to === `UMIA${org.id}`);
    expect(note?.message.summary).toBe('1 of your reports has tokens expiring this week');
    const day = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'UTC',
      day: 'numeric',
      month: 'short',
      year: 'numeric',
    }).format(new Date(monday.getTime() + 3 * 86_400_000 - 1));
    expect(texts(`UMIA${org.id}`).join('\n')).toContain(
      `Ana: 250 tokens expire in the next 7 days, the first on ${day}`,
    );
    expect(texts(`UANA${org.id}`)).toEqual([]);
  });
});
