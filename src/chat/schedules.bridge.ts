import { describeAllowanceExpiry } from '../allowances/allowances.models';
import { listLiveRules } from '../allowances/allowances.repository';
import {
  nextAllowance,
  removeAllowance,
  type SetAllowanceFailure,
  setAllowance,
} from '../allowances/allowances.usecases';
import { listEnabledSchedules } from '../digest/digest.repository';
import { buildDigestMessage } from '../digest/digest.usecases';
import {
  digestCronExample,
  disableDigest,
  type SetDigestFailure,
  setDigestSchedule,
} from '../digest/digest-schedules.usecases';
import { formatTokens } from '../ledger/amount.models';
import type { Actor, Ctx } from '../lib/context';
import { dayLabel } from '../lib/expiry.models';
import type { FailureDetails } from '../lib/failures';
import type { Failure } from '../lib/result';
import type { IdentityPlatform, Member } from '../members/members.repository';
import { findMembers } from '../members/members.repository';
import { type Block, type ChatMessage, context, type Line, message, text } from '../notify/message.models';
import type { MessageLocation } from '../notify/notifier';
import type { ParsedCommand } from './grammar.models';
import { usages } from './grammar.models';
import { grammarReply } from './replies.models';
import type { ChatUserRef } from './words.models';

// The chat core's window on schedules: weekly digests and recurring allowances (/tokens digest …,
// /tokens allowance …) and the next reset shown by /balance. Kept in one file, like usage.bridge.ts.

/** A place a digest can go, with the words that name it in a reply. */
export interface DigestDestination {
  location: MessageLocation;
  words: Line;
}

/**
 * Where a command was typed, as its adapter reads the platform (src/slack/listeners/commands.listeners.ts,
 * src/teams/teams.core.ts): the digest goes there unless a channel is named. The platform's fields
 * (channel ids, conversation ids) and its words stay in the adapter.
 */
export interface CommandPlace {
  /** This conversation as the digest's destination, or the words saying why it cannot be (a direct chat). */
  here: DigestDestination | string;
  /** A channel the command names (`#name`) as the destination, or the words saying why not. */
  named(channelId: string): DigestDestination | string;
  /** How a schedule stored for this platform reads in a reply; undefined for another platform's. */
  describe(location: MessageLocation): Line | undefined;
}

/** How another platform's schedule reads (its adapter is not the one asking). */
const platformNames: Record<IdentityPlatform, string> = { slack: 'Slack', teams: 'Teams' };

export type DigestCommand = Extract<ParsedCommand, { name: 'tokens-digest' }>;
export type AllowanceCommand = Extract<ParsedCommand, { name: 'tokens-allowance' }>;

const done = (reply: ChatMessage) => ({ ok: true, reply });
const refused = (problem: string, usage: string) => ({ ok: false, reply: grammarReply(problem, usage) });
const notAdmin = (verb: string) => refused(`Only admins can ${verb}.`, '/tokens help');

type Refused = ReturnType<typeof refused>;

// One reply per failure code of each verb, so a new code fails the build until it has words here.

type DigestSetRefusals = {
  [F in SetDigestFailure]: (
    command: Extract<DigestCommand, { action: 'set' }>,
    detail: F extends keyof FailureDetails ? FailureDetails[F] | undefined : undefined,
  ) => Refused;
};

const digestSetRefusals: DigestSetRefusals = {
  not_an_admin: () => notAdmin('schedule the digest'),
  cron_invalid: (command, detail) =>
    refused(
      `“${command.cron.slice(0, 60)}” is not a schedule I can read (${detail?.problems.join('; ') ?? 'unreadable'}).`,
      usages['tokens-digest'],
    ),
  time_zone_invalid: (command) =>
    refused(`“${command.timeZone.slice(0, 60)}” is not a time zone I know; use an IANA name.`, usages['tokens-digest']),
  destination_invalid: () =>
    refused('That schedule could not be saved: that is not a place I can post the digest to.', usages['tokens-digest']),
};

const digestOffRefusals = {
  not_an_admin: () => notAdmin('schedule the digest'),
  digest_not_found: () => refused('No digest is scheduled there.', '/tokens digest'),
} satisfies Record<'not_an_admin' | 'digest_not_found', () => Refused>;

type AllowanceSetRefusals = {
  [F in SetAllowanceFailure]: (
    detail: F extends keyof FailureDetails ? FailureDetails[F] | undefined : undefined,
  ) => Refused;
};

const allowanceSetRefusals: AllowanceSetRefusals = {
  not_an_admin: () => notAdmin('set allowances'),
  amount_invalid: () =>
    refused('The allowance could not be set: that amount is not one I can use.', usages['tokens-allowance']),
  member_not_found: () => refused('I could not find that person.', usages['tokens-allowance']),
  cap_invalid: () =>
    refused('The allowance could not be set: the carry-over cap is not one I can use.', usages['tokens-allowance']),
  expiry_with_rollover: () =>
    refused(
      'An allowance that expires carries nothing over, so it takes no rollover cap (with an end date, only rollover 0). Leave out “rollover …”.',
      '/tokens allowance member 200k monthly for 90d',
    ),
  expiry_past: (detail) =>
    refused(
      `The allowance could not be set: its end date${detail ? `, ${dayLabel(detail.day)},` : ''} has already passed.`,
      `/tokens allowance member 200k monthly expires ${detail?.example ?? '2027-06-30'}`,
    ),
  expiry_too_far: (detail) =>
    refused(
      `The allowance could not be set: its end date${detail ? `, ${dayLabel(detail.day)},` : ''} is more than 5 years ahead.`,
      `/tokens allowance member 200k monthly expires ${detail?.latest ?? '2030-12-31'}`,
    ),
};

const allowanceOffRefusals = {
  not_an_admin: () => notAdmin('set allowances'),
  allowance_not_found: () => refused('There is no allowance for them.', '/tokens allowance'),
} satisfies Record<'not_an_admin' | 'allowance_not_found', () => Refused>;

/** The destination of a digest command: the channel it names, else where it was typed. */
function destinationFor(channelId: string | null, place: CommandPlace | undefined): DigestDestination | string {
  if (!place) return 'Type the command in the channel that should receive the digest.';
  return channelId ? place.named(channelId) : place.here;
}

export async function runDigestCommand(
  ctx: Ctx,
  input: {
    orgId: bigint;
    actor: Actor;
    isAdmin: boolean;
    place?: CommandPlace;
    command: DigestCommand;
  },
): Promise<{ ok: boolean; reply: ChatMessage }> {
  const { command } = input;
  const usage = usages['tokens-digest'];
  if (command.action === 'preview') {
    const digest = await buildDigestMessage(ctx, { orgId: input.orgId, at: ctx.clock.now() });
    return done({ summary: digest.summary, blocks: [context('Preview: only you see this.'), ...digest.blocks] });
  }
  if (command.action === 'show') return done(await digestSchedulesMessage(ctx, input.orgId, input.place));
  if (!input.isAdmin) return notAdmin('schedule the digest');
  if (command.action === 'off') {
    const destination = command.channelId ? destinationFor(command.channelId, input.place) : null;
    if (typeof destination === 'string') return refused(destination, usage);
    const result = await disableDigest(ctx, {
      orgId: input.orgId,
      actor: input.actor,
      destination: destination?.location ?? null,
    });
    if (!result.ok) return digestOffRefusals[result.failure]();
    return done(
      message(
        'Digest off',
        text([`Digest off for ${result.value.disabled} destination${result.value.disabled === 1 ? '' : 's'}.`]),
      ),
    );
  }
  const destination = destinationFor(command.channelId, input.place);
  if (typeof destination === 'string') return refused(destination, usage);
  const result = await setDigestSchedule(ctx, {
    orgId: input.orgId,
    actor: input.actor,
    destination: destination.location,
    cron: command.cron,
    timeZone: command.timeZone,
  });
  if (!result.ok) {
    // The verb checks the schedule (cron_invalid carries the parser's problems) and the time zone.
    if (result.failure === 'cron_invalid') return digestSetRefusals.cron_invalid(command, result.detail);
    return digestSetRefusals[result.failure](command, undefined);
  }
  return done(
    message(
      'Digest scheduled',
      text([
        'The weekly digest will be posted to ',
        ...destination.words,
        ' on ',
        { code: result.value.cron },
        ` (${result.value.timeZone}).`,
      ]),
      context(
        `Cron fields: minute hour day-of-month month day-of-week, e.g. ${digestCronExample}. `,
        { code: '/tokens digest preview' },
        ' shows it now.',
      ),
    ),
  );
}

export async function runAllowanceCommand(
  ctx: Ctx,
  input: {
    orgId: bigint;
    actor: Actor;
    isAdmin: boolean;
    command: AllowanceCommand;
    resolve: (user: ChatUserRef) => Promise<Member | undefined>;
  },
): Promise<{ ok: boolean; reply: ChatMessage }> {
  const { command } = input;
  const usage = usages['tokens-allowance'];
  if (command.action === 'list') return done(await allowancesMessage(ctx, input.orgId));
  if (!input.isAdmin) return notAdmin('set allowances');
  let target: { role: 'admin' | 'manager' | 'member' } | { memberId: bigint };
  let targetName: Line;
  if ('role' in command.target) {
    target = { role: command.target.role };
    targetName = [`every ${command.target.role}`];
  } else {
    const member = await input.resolve(command.target.user);
    if (!member) return refused('I could not find that person.', usage);
    target = { memberId: member.id };
    targetName = [{ member: { id: member.id, name: member.displayName } }];
  }
  if (command.action === 'off') {
    const removed = await removeAllowance(ctx, { orgId: input.orgId, actor: input.actor, target });
    if (!removed.ok) return allowanceOffRefusals[removed.failure]();
    return done(message('Allowance removed', text(['No more allowance for ', ...targetName, '.'])));
  }
  const set = await setAllowance(ctx, {
    orgId: input.orgId,
    actor: input.actor,
    target,
    amount: command.amount,
    period: command.period,
    rolloverCapTokens: command.rolloverCap,
    expiry: command.expiry,
  });
  if (!set.ok) return refuseAllowance(set);
  const expiry = describeAllowanceExpiry(set.value);
  return done(
    message(
      'Allowance set',
      text([
        ...targetName,
        ` will get ${formatTokens(command.amount)} tokens ${command.period}, at midnight in their own time zone`,
        expiry
          ? `; ${expiry}.`
          : command.rolloverCap === null
            ? '; unused tokens carry over.'
            : `; at most ${formatTokens(command.rolloverCap)} unused tokens carry over, the rest expires.`,
      ]),
      context('The first one arrives within 15 minutes.'),
    ),
  );
}

/** The "next allowance" line of /balance; nothing without an allowance. */
export async function nextAllowanceBlocks(ctx: Ctx, input: { orgId: bigint; memberId: bigint }): Promise<Block[]> {
  const next = await nextAllowance(ctx, input);
  if (!next) return [];
  const when = new Intl.DateTimeFormat('en-GB', {
    timeZone: next.timeZone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
  }).format(next.at);
  return [context(`Next allowance: ${formatTokens(next.amount)} tokens on ${when} (${next.timeZone}).`)];
}

/** The digest schedules of an organisation (at most 20), with the last failure of each. */
async function digestSchedulesMessage(ctx: Ctx, orgId: bigint, place?: CommandPlace): Promise<ChatMessage> {
  const usage = usages['tokens-digest'];
  const schedules = await listEnabledSchedules(ctx.db.orm, orgId);
  const lines: Line[] =
    schedules.length === 0
      ? [['No digest is scheduled. ', { code: usage }]]
      : schedules
          .slice(0, 20)
          .map(
            (schedule): Line => [
              ...(place?.describe({ platform: schedule.platform, ref: schedule.destination }) ?? [
                `a ${platformNames[schedule.platform]} conversation`,
              ]),
              ': ',
              { code: schedule.cron },
              ` in ${schedule.timeZone}`,
              schedule.failuresInRow > 0 ? ` (last post failed: ${schedule.lastFailure ?? 'unknown'})` : '',
            ],
          );
  return message('Weekly digest schedules', text([{ bold: 'Weekly digest' }]), text(...lines));
}

/** The live allowance rules of an organisation (at most 40), each person named. */
async function allowancesMessage(ctx: Ctx, orgId: bigint): Promise<ChatMessage> {
  const usage = usages['tokens-allowance'];
  const rules = await listLiveRules(ctx.db.orm, orgId);
  const people = new Map(
    (
      await findMembers(
        ctx.db.orm,
        orgId,
        rules.flatMap((rule) => (rule.memberId === null ? [] : [rule.memberId])),
      )
    ).map((member) => [member.id, member]),
  );
  const lines: Line[] =
    rules.length === 0
      ? [['No allowances. ', { code: usage }]]
      : rules.slice(0, 40).map(
          (rule): Line => [
            rule.role
              ? `Every ${rule.role}`
              : {
                  member: {
                    id: rule.memberId!,
                    name: people.get(rule.memberId!)?.displayName ?? `#${rule.memberId}`,
                  },
                },
            `: ${formatTokens(rule.amount)} ${rule.period}`,
            describeAllowanceExpiry(rule)
              ? `; ${describeAllowanceExpiry(rule)}`
              : rule.rolloverCapTokens === null
                ? ', unused carries over'
                : `, at most ${formatTokens(rule.rolloverCapTokens)} carries over`,
          ],
        );
  return message('Allowances', text([{ bold: 'Allowances' }]), text(...lines));
}

/** The words for a refused allowance, each code's details typed. */
function refuseAllowance(failed: Failure<SetAllowanceFailure>): Refused {
  switch (failed.failure) {
    case 'expiry_past':
      return allowanceSetRefusals.expiry_past(failed.detail);
    case 'expiry_too_far':
      return allowanceSetRefusals.expiry_too_far(failed.detail);
    default:
      return allowanceSetRefusals[failed.failure](undefined);
  }
}
