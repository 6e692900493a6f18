import type { Command } from 'commander';
import type { AllowanceTarget } from '../allowances/allowances.repository';
import { listLiveRules } from '../allowances/allowances.repository';
import { type AllowancePeriod, allowancePeriods } from '../allowances/allowances.tables';
import { issueDueAllowances, removeAllowance, setAllowance } from '../allowances/allowances.usecases';
import { listEnabledSchedules } from '../digest/digest.repository';
import { buildDigestMessage } from '../digest/digest.usecases';
import { disableDigest, setDigestSchedule } from '../digest/digest-schedules.usecases';
import { type Ctx, operatorActor } from '../lib/context';
import type { Organisation } from '../members/members.repository';
import { type MemberRole, memberRoles } from '../members/members.tables';
import type { MessageLocation } from '../notify/notifier';
import {
  CliError,
  requireAmount,
  requireLeadingAmount,
  requireMember,
  requireOrganisation,
  withCliContext,
} from './cli-context';
import { formatChatMessage, formatTable, formatTokens } from './cli-format';

async function targetOf(ctx: Ctx, organisation: Organisation, text: string): Promise<AllowanceTarget> {
  if ((memberRoles as readonly string[]).includes(text)) return { role: text as MemberRole };
  return { memberId: (await requireMember(ctx, organisation, text)).id };
}

function periodOf(text: string): AllowancePeriod {
  if (!(allowancePeriods as readonly string[]).includes(text))
    throw new CliError(`The period is weekly or monthly, not "${text}".`);
  return text as AllowancePeriod;
}

/** "slack:C0123" or "teams:<conversation id>". */
function destinationOf(text: string): MessageLocation {
  const match = /^(slack|teams):(.+)$/.exec(text.trim());
  if (!match)
    throw new CliError(`Name the destination as slack:<channel id> or teams:<conversation id>, e.g. slack:C0123ABCD.`);
  return match[1] === 'slack'
    ? { platform: 'slack', ref: { channelId: match[2]! } }
    : { platform: 'teams', ref: { conversationId: match[2]! } };
}

export function registerScheduleCommands(program: Command): void {
  const allowance = program.command('allowance').description('Recurring base allowances, issued from the treasury');
  allowance
    .command('set <org> <target> <amount> <period>')
    .description('Give a role (admin|manager|member) or one member (email or id) a weekly or monthly allowance')
    .option('--rollover-cap <tokens>', 'most unused allowance carried into the next period; the rest expires')
    .action(
      async (
        slug: string,
        targetText: string,
        amountText: string,
        periodText: string,
        options: { rolloverCap?: string },
      ) => {
        const amount = requireLeadingAmount([amountText, periodText], 'other');
        return withCliContext(async (ctx) => {
          const organisation = await requireOrganisation(ctx, slug);
          const result = await setAllowance(ctx, {
            orgId: organisation.id,
            actor: operatorActor,
            target: await targetOf(ctx, organisation, targetText),
            amount,
            period: periodOf(periodText),
            rolloverCapTokens:
              options.rolloverCap === undefined
                ? null
                : options.rolloverCap === '0'
                  ? 0n
                  : requireAmount(options.rolloverCap),
          });
          if (!result.ok) throw new CliError(`Allowance not set: ${result.failure}.`);
          console.log(
            `Allowance set: ${formatTokens(result.value.amount)} tokens ${result.value.period} for ${targetText}.`,
          );
        });
      },
    );
  allowance
    .command('remove <org> <target>')
    .description('Stop the allowance of a role or member')
    .action(async (slug: string, targetText: string) =>
      withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const result = await removeAllowance(ctx, {
          orgId: organisation.id,
          actor: operatorActor,
          target: await targetOf(ctx, organisation, targetText),
        });
        if (!result.ok)
          throw new CliError(`No allowance for ${targetText}; see: allot allowance list ${organisation.slug}`);
        console.log(`Allowance for ${targetText} removed.`);
      }),
    );
  allowance
    .command('list <org>')
    .description('List the allowances in force')
    .action(async (slug: string) =>
      withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const rules = await listLiveRules(ctx.db.orm, organisation.id);
        console.log(
          formatTable(
            ['target', 'amount', 'period', 'rollover cap'],
            rules.map((rule) => [
              rule.role ?? `member #${rule.memberId}`,
              formatTokens(rule.amount),
              rule.period,
              rule.rolloverCapTokens === null ? 'unlimited' : formatTokens(rule.rolloverCapTokens),
            ]),
          ),
        );
      }),
    );
  allowance
    .command('issue <org>')
    .description(
      'Issue the allowances due now (the scheduler does this every 15 minutes; running it again is harmless)',
    )
    .action(async (slug: string) =>
      withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const report = await issueDueAllowances(ctx, { orgId: organisation.id });
        console.log(
          `Issued ${report.issued}, already issued ${report.alreadyIssued}, expired ${formatTokens(report.expiredTokens)} tokens.`,
        );
      }),
    );

  const digest = program.command('digest').description('Weekly digest schedules');
  digest
    .command('set <org> <destination> <cron> <timeZone>')
    .description('Post the digest to slack:<channel id> or teams:<conversation id>, e.g. "0 9 * * MON" Europe/Berlin')
    .action(async (slug: string, destinationText: string, cron: string, timeZone: string) =>
      withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const result = await setDigestSchedule(ctx, {
          orgId: organisation.id,
          actor: operatorActor,
          destination: destinationOf(destinationText),
          cron,
          timeZone,
        });
        if (!result.ok) {
          const why =
            result.failure === 'cron_invalid'
              ? `"${cron}" is not a cron expression (${(result.detail?.problems as string[] | undefined)?.join('; ')}). Try "0 9 * * MON".`
              : result.failure === 'time_zone_invalid'
                ? `"${timeZone}" is not an IANA time zone. Try Europe/Berlin or America/New_York.`
                : result.failure;
          throw new CliError(`Digest not scheduled: ${why}`);
        }
        console.log(`Digest scheduled for ${destinationText}: "${result.value.cron}" in ${result.value.timeZone}.`);
      }),
    );
  digest
    .command('off <org> [destination]')
    .description('Stop the digest for one destination, or all')
    .action(async (slug: string, destinationText: string | undefined) =>
      withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const result = await disableDigest(ctx, {
          orgId: organisation.id,
          actor: operatorActor,
          destination: destinationText ? destinationOf(destinationText) : null,
        });
        if (!result.ok) throw new CliError('No digest is scheduled there.');
        console.log(`Digest off for ${result.value.disabled} destination${result.value.disabled === 1 ? '' : 's'}.`);
      }),
    );
  digest
    .command('preview <org>')
    .description('Print the digest as it would be posted now (the last complete week)')
    .action(async (slug: string) =>
      withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const message = await buildDigestMessage(ctx, { orgId: organisation.id, at: ctx.clock.now() });
        console.log(formatChatMessage(message));
      }),
    );
  digest
    .command('list <org>')
    .description('List digest schedules')
    .action(async (slug: string) =>
      withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const schedules = await listEnabledSchedules(ctx.db.orm, organisation.id);
        console.log(
          formatTable(
            ['destination', 'cron', 'time zone', 'failures in a row'],
            schedules.map((schedule) => [
              schedule.destinationKey,
              schedule.cron,
              schedule.timeZone,
              String(schedule.failuresInRow),
            ]),
          ),
        );
      }),
    );
}
