import cron from 'node-cron';
import type { Actor, Ctx } from '../lib/context';
import { actorMemberId } from '../lib/context';
import { fail, ok, type Result } from '../lib/result';
import { isTimeZone } from '../lib/zoned-time.models';
import { insertActorAudit } from '../members/members.repository';
import { isAdminActor } from '../members/members.usecases';
import type { MessageLocation } from '../notify/notifier';
import type { DigestSchedule } from './digest.repository';
import * as repo from './digest.repository';

export const digestCronExample = '0 9 * * MON';
export const digestTimeZoneExample = 'Europe/Berlin';
/** Longest cron expression accepted (node-cron's six fields with lists fit easily). */
const cronLengthMax = 120;

export type CronCheck = { ok: true } | { ok: false; problems: string[] };

/** node-cron's own validation, with each field's problem spelled out. */
export function checkCron(expression: string): CronCheck {
  const text = expression.trim();
  if (text.length === 0 || text.length > cronLengthMax)
    return { ok: false, problems: ['the expression is empty or too long'] };
  const detailed = cron.validateDetailed(text);
  if (detailed.valid) return { ok: true };
  const problems = detailed.errors.map((error) => `${error.field}: ${error.message}`);
  return { ok: false, problems: problems.length > 0 ? problems : ['not a cron expression'] };
}

export function destinationKeyOf(destination: MessageLocation): string {
  return destination.platform === 'slack'
    ? `slack:${destination.ref.channelId ?? ''}`
    : `teams:${destination.ref.conversationId ?? ''}`;
}

export type SetDigestFailure = 'not_an_admin' | 'cron_invalid' | 'time_zone_invalid' | 'destination_invalid';

/** Posts the digest to a channel on a cron schedule in a time zone; replaces that channel's schedule. */
export async function setDigestSchedule(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; destination: MessageLocation; cron: string; timeZone: string },
): Promise<Result<DigestSchedule, SetDigestFailure>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  const cronCheck = checkCron(input.cron);
  if (!cronCheck.ok) return fail('cron_invalid', { problems: cronCheck.problems, example: digestCronExample });
  if (!isTimeZone(input.timeZone)) return fail('time_zone_invalid', { example: digestTimeZoneExample });
  const key = destinationKeyOf(input.destination);
  if (key.endsWith(':') || key.length > 300) return fail('destination_invalid');
  const now = ctx.clock.now();
  const schedule = await ctx.db.orm.transaction(async (tx) => {
    const saved = await repo.upsertSchedule(tx, {
      orgId: input.orgId,
      platform: input.destination.platform,
      destination: input.destination.ref,
      destinationKey: key,
      cron: input.cron.trim(),
      timeZone: input.timeZone,
      createdBy: actorMemberId(input.actor),
      at: now,
    });
    await insertActorAudit(tx, {
      orgId: input.orgId,
      actor: input.actor,
      action: 'digest.schedule',
      details: { scheduleId: saved.id, destination: key, cron: saved.cron, timeZone: saved.timeZone },
      at: now,
    });
    return saved;
  });
  return ok(schedule);
}

/** Turns off the digest for one destination, or every destination when none is named. */
export async function disableDigest(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; destination: MessageLocation | null },
): Promise<Result<{ disabled: number }, 'not_an_admin' | 'digest_not_found'>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  const now = ctx.clock.now();
  const key = input.destination ? destinationKeyOf(input.destination) : null;
  const disabled = await ctx.db.orm.transaction(async (tx) => {
    const count = await repo.disableSchedules(tx, input.orgId, key, now);
    if (count > 0) {
      await insertActorAudit(tx, {
        orgId: input.orgId,
        actor: input.actor,
        action: 'digest.off',
        details: { destination: key ?? 'all' },
        at: now,
      });
    }
    return count;
  });
  return disabled === 0 ? fail('digest_not_found') : ok({ disabled });
}
