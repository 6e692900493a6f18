import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestJob } from '../../src/digest/digest.module';
import { findDelivery, findSchedule } from '../../src/digest/digest.repository';
import { collectDigest, deliverDigest, digestJobName } from '../../src/digest/digest.usecases';
import { disableDigest, setDigestSchedule } from '../../src/digest/digest-schedules.usecases';
import { Scheduler } from '../../src/digest/scheduler';
import { createTestClock } from '../../src/lib/clock';
import { type Ctx, operatorActor } from '../../src/lib/context';
import { createLogger } from '../../src/lib/logger';
import { periodStart } from '../../src/lib/periods.models';
import { addMember } from '../../src/members/members.usecases';
import { type ChatMessage, plainText } from '../../src/notify/message.models';
import { type MessageLocation, Notifier, type PlatformSender, type SendOutcome } from '../../src/notify/notifier';
import { ingestUsage } from '../../src/usage/usage.usecases';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeMember, makeOrganisation } from '../support/fixtures';
import { event, fund } from '../usage/support';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => tdb.close());

const logger = createLogger('silent');
const dayMs = 86_400_000;

/** A sender standing in for Slack: records channel posts and DMs, failing on demand. */
function recordingSender(answer: () => SendOutcome | undefined = () => undefined) {
  const posts: { destination: MessageLocation; message: ChatMessage }[] = [];
  const directs: { externalId: string; message: ChatMessage }[] = [];
  const sender: PlatformSender = {
    platform: 'slack',
    async sendDirect({ identity, message }) {
      directs.push({ externalId: identity.externalId, message });
      return { ok: true, location: { platform: 'slack', ref: { channel: 'D1', ts: String(directs.length) } } };
    },
    async update({ location }) {
      return { ok: true, location };
    },
    async postToChannel({ destination, message }) {
      posts.push({ destination, message });
      return (
        answer() ?? {
          ok: true,
          location: { platform: 'slack', ref: { channel: destination.ref.channelId!, ts: '1.2' } },
        }
      );
    },
  };
  return { sender, posts, directs };
}

function allText(message: ChatMessage): string {
  return message.blocks
    .map((block) => {
      if (block.type === 'header') return block.text;
      if (block.type === 'text') return block.lines.map(plainText).join('\n');
      if (block.type === 'fields')
        return block.fields.map((field) => `${field.label}: ${plainText(field.value)}`).join('\n');
      if (block.type === 'context') return plainText(block.line);
      return '';
    })
    .join('\n');
}

/**
 * The digest reports the last complete week before it is posted. Grants carry the database's own
 * time, so the clock is put on the Monday after the real current week, making that week the one reported.
 */
function digestClock() {
  const weekStart = periodStart('week', 'UTC', new Date());
  return { clock: createTestClock(new Date(weekStart.getTime() + 7 * dayMs + 8 * 3_600_000)), weekStart };
}

async function seededOrganisation() {
  const { clock, weekStart } = digestClock();
  const ctx = createTestCtx(tdb.db, clock);
  const org = await makeOrganisation(ctx);
  const admin = await addMember(ctx, {
    orgId: org.id,
    displayName: 'Ada Admin',
    email: `ada-${org.id}@example.com`,
    role: 'admin',
    identity: { platform: 'slack', externalId: `UADA${org.id}`, workspaceId: 'T1' },
    actor: operatorActor,
  });
  if (!admin.ok) throw new Error(admin.failure);
  const ana = await makeMember(ctx, org.id, { name: 'Ana', email: `ana-${org.id}@example.com` });
  const ben = await makeMember(ctx, org.id, { name: 'Ben', email: `ben-${org.id}@example.com` });
  await fund(ctx, org.id, [ana.id, ben.id], 1_000_000n);
  const at = (offsetMs: number) => new Date(weekStart.getTime() + offsetMs).toISOString();
  const ingested = await ingestUsage(ctx, {
    orgId: org.id,
    events: [
      event({ user: ana.email!, time: at(1 * dayMs), input_tokens: 30_000, output_tokens: 10_000 }),
      event({ user: ana.email!, time: at(2 * dayMs), input_tokens: 20_000, output_tokens: 0 }),
      event({ user: ben.email!, time: at(3 * dayMs), input_tokens: 5_000, output_tokens: 5_000 }),
      // The week before: Ben used more then, so Ana is the week's mover.
      event({ user: ben.email!, time: at(-5 * dayMs), input_tokens: 50_000, output_tokens: 0 }),
    ],
  });
  if (!ingested.ok) throw new Error(ingested.failure);
  expect(ingested.value.results.filter((result) => result.status === 'accepted')).toHaveLength(4);
  return { ctx, org, admin: admin.value, ana, ben, weekStart };
}

/**
 * A weekly digest scheduled for a Slack channel, a notifier that records what it sends there (and
 * answers with `answer`), and the delivery dependencies, without waits between retries.
 */
async function slackDigest(
  ctx: Ctx,
  orgId: bigint,
  channelId: string,
  options: { timeZone?: string; cron?: string; answer?: () => SendOutcome | undefined } = {},
) {
  const notifier = new Notifier(() => tdb.db.orm);
  const slack = recordingSender(options.answer);
  notifier.register(slack.sender);
  const schedule = await setDigestSchedule(ctx, {
    orgId,
    actor: operatorActor,
    destination: { platform: 'slack', ref: { channelId } },
    cron: options.cron ?? '0 9 * * MON',
    timeZone: options.timeZone ?? 'UTC',
  });
  if (!schedule.ok) throw new Error(schedule.failure);
  const deps = { ctx, notifier, logger, sleep: async () => {} };
  return { slack, schedule: schedule.value, deps };
}

describe('the weekly digest', () => {
  it('reports the last complete week: leaderboard, totals, movers and grants', async () => {
    const { ctx, org, weekStart } = await seededOrganisation();
    const data = await collectDigest(ctx, { orgId: org.id, at: ctx.clock.now() });
    expect(data.from.toISOString()).toBe(weekStart.toISOString());
    expect(data.leaderboard).not.toBe('disabled');
    const board = data.leaderboard === 'disabled' ? [] : data.leaderboard;
    expect(board.map((row) => [row.rank, row.name, row.tokens])).toEqual([
      [1, 'Ana', 60_000n],
      [2, 'Ben', 10_000n],
    ]);
    expect(data.totals.tokens).toBe(70_000n);
    expect(data.previousTotals.tokens).toBe(50_000n);
    expect(data.movers.map((mover) => mover.name)).toEqual(['Ana']);
    expect(data.grants).toMatchObject({ grants: 2, total: 2_000_000n });
  });

  it('is posted once per period and destination, and a second delivery of the same slot posts nothing', async () => {
    const { ctx, org } = await seededOrganisation();
    const { slack, schedule, deps } = await slackDigest(ctx, org.id, 'CDIGEST', { timeZone: 'Europe/Berlin' });
    const slot = ctx.clock.now();
    expect(await deliverDigest(deps, { orgId: org.id, scheduleId: schedule.id, slot })).toBe('sent');
    expect(await deliverDigest(deps, { orgId: org.id, scheduleId: schedule.id, slot })).toBe('already_delivered');
    expect(slack.posts).toHaveLength(1);
    expect(slack.posts[0]?.destination.ref.channelId).toBe('CDIGEST');
    const text = allText(slack.posts[0]!.message);
    expect(text).toContain('Leaderboard');
    expect(text).toMatch(/1\. Ana — 60,000 value/);
    const delivery = await findDelivery(tdb.db.orm, org.id, `${digestJobName(schedule)}:${slot.toISOString()}`);
    expect(delivery).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('a weekly digest at 02:30 on Sunday in New York is posted once on the night the clocks jump over 02:30, by two replicas', async () => {
    const clock = createTestClock('2026-03-08T05:00:00Z');
    const ctx = createTestCtx(tdb.db, clock);
    const org = await makeOrganisation(ctx);
    const { slack, schedule, deps } = await slackDigest(ctx, org.id, 'CDST', {
      timeZone: 'America/New_York',
      cron: '30 2 * * SUN',
    });
    const job = digestJob({ ...deps, config: { DIGEST_CATCH_UP_HOURS: 12 } }, schedule);
    const replicas = [0, 1].map(() => {
      const replica = new Scheduler(ctx, logger);
      replica.schedule(job);
      return replica;
    });
    for (let at = clock.now().getTime(); at <= new Date('2026-03-08T09:00:00Z').getTime(); at += 60_000) {
      clock.set(new Date(at));
      await Promise.all(replicas.map((replica) => replica.tick()));
      // 02:30 does not exist that night: the digest goes out at 03:00 (07:00 UTC), the first instant after the jump.
      if (at < new Date('2026-03-08T07:00:00Z').getTime()) expect(slack.posts).toHaveLength(0);
    }
    expect(slack.posts).toHaveLength(1);
    const delivery = await findDelivery(
      tdb.db.orm,
      org.id,
      `${digestJobName(schedule)}:2026-03-08T02:30[America/New_York]`,
    );
    expect(delivery).toMatchObject({ status: 'sent', attempts: 1 });
    // A restart later that morning finds the occurrence done.
    clock.set('2026-03-08T12:00:00Z');
    expect(await new Scheduler(ctx, logger).catchUp(job)).toBe(false);
    expect(slack.posts).toHaveLength(1);
  });

  it('a failing destination is retried, then reported to the admins, never silently dropped', async () => {
    const { ctx, org } = await seededOrganisation();
    const { slack, schedule, deps } = await slackDigest(ctx, org.id, 'CBROKEN', {
      answer: () => ({ ok: false, reason: 'failed', detail: 'ratelimited' }),
    });
    const outcome = await deliverDigest(deps, { orgId: org.id, scheduleId: schedule.id, slot: ctx.clock.now() });
    expect(outcome).toBe('failed');
    expect(slack.posts).toHaveLength(3);
    expect(slack.directs.map((direct) => direct.externalId)).toEqual([`UADA${org.id}`]);
    expect(slack.directs[0]?.message.summary).toContain('could not be posted');
    expect((await findSchedule(tdb.db.orm, org.id, schedule.id))?.failuresInRow).toBe(1);
  });

  it('an unreachable destination is not retried in a loop: the admins hear at once', async () => {
    const { ctx, org } = await seededOrganisation();
    const { slack, schedule, deps } = await slackDigest(ctx, org.id, 'CGONE', {
      answer: () => ({ ok: false, reason: 'unreachable', detail: 'channel_not_found' }),
    });
    expect(await deliverDigest(deps, { orgId: org.id, scheduleId: schedule.id, slot: ctx.clock.now() })).toBe('failed');
    expect(slack.posts).toHaveLength(1);
    expect(slack.directs).toHaveLength(1);
  });
});

describe('digest schedules', () => {
  it('a bad cron expression or time zone is refused with an example, and only admins may schedule', async () => {
    const ctx = createTestCtx(tdb.db);
    const org = await makeOrganisation(ctx);
    const member = await makeMember(ctx, org.id);
    const destination: MessageLocation = { platform: 'slack', ref: { channelId: 'C1' } };
    expect(
      await setDigestSchedule(ctx, {
        orgId: org.id,
        actor: operatorActor,
        destination,
        cron: '0 25 * * MON',
        timeZone: 'UTC',
      }),
    ).toMatchObject({
      ok: false,
      failure: 'cron_invalid',
      detail: { example: '0 9 * * MON' },
    });
    expect(
      await setDigestSchedule(ctx, {
        orgId: org.id,
        actor: operatorActor,
        destination,
        cron: '0 9 * * MON',
        timeZone: 'Mars/Olympus',
      }),
    ).toMatchObject({ ok: false, failure: 'time_zone_invalid' });
    expect(
      await setDigestSchedule(ctx, {
        orgId: org.id,
        actor: { kind: 'member', memberId: member.id, platform: 'slack' },
        destination,
        cron: '0 9 * * MON',
        timeZone: 'UTC',
      }),
    ).toMatchObject({ ok: false, failure: 'not_an_admin' });
    const set = await setDigestSchedule(ctx, {
      orgId: org.id,
      actor: operatorActor,
      destination,
      cron: '0 9 * * MON',
      timeZone: 'Asia/Calcutta',
    });
    expect(set.ok).toBe(true);
    expect(await disableDigest(ctx, { orgId: org.id, actor: operatorActor, destination: null })).toMatchObject({
      ok: true,
      value: { disabled: 1 },
    });
    expect(await disableDigest(ctx, { orgId: org.id, actor: operatorActor, destination: null })).toMatchObject({
      ok: false,
      failure: 'digest_not_found',
    });
  });
});
