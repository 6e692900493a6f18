import type { Command } from 'commander';
import { describeAllowanceExpiry } from '../../allowances/allowances.models';
import type { AllowanceTarget } from '../../allowances/allowances.repository';
import { listLiveRules } from '../../allowances/allowances.repository';
import { type AllowancePeriod, allowancePeriods } from '../../allowances/allowances.tables';
import { issueDueAllowances, removeAllowance, setAllowance } from '../../allowances/allowances.usecases';
import { type Ctx, operatorActor } from '../../lib/context';
import type { Organisation } from '../../members/members.repository';
import { type MemberRole, memberRoles } from '../../members/members.tables';
import {
  CliError,
  requireAmount,
  requireExpiry,
  requireLeadingAmount,
  requireMember,
  requireOrganisation,
  withCliContext,
} from '../cli-context';
import { failureLine, formatTable, formatTokens } from '../cli-format';

// `allot allowance …`: recurring base allowances, issued from the treasury.

/** Whom an allowance is for: a role by name, else one member by email or id. */
async function targetOf(ctx: Ctx, organisation: Organisation, text: string): Promise<AllowanceTarget> {
  if ((memberRoles as readonly string[]).includes(text)) return { role: text as MemberRole };
  return { memberId: (await requireMember(ctx, organisation, text)).id };
}

/** `weekly` or `monthly`; anything else ends the command (exit 1). */
function periodOf(text: string): AllowancePeriod {
  if (!(allowancePeriods as readonly string[]).includes(text))
    throw new CliError(`The period is weekly or monthly, not "${text}".`);
  return text as AllowancePeriod;
}

/** Registers `allot allowance` and its commands, in the order `allot allowance --help` lists them. */
export function registerAllowanceCommands(program: Command): void {
  const allowance = program.command('allowance').description('Recurring base allowances, issued from the treasury');
  registerAllowanceSet(allowance);
  registerAllowanceRemove(allowance);
  registerAllowanceList(allowance);
  registerAllowanceIssue(allowance);
}

/** `allot allowance set`: give a role (admin|manager|member) or one member (email or id) a weekly or monthly allowance. */
function registerAllowanceSet(allowance: Command): void {
  allowance
    .command('set <org> <target> <amount> <period>')
    .description('Give a role (admin|manager|member) or one member (email or id) a weekly or monthly allowance')
    .option('--rollover-cap <tokens>', 'most unused allowance carried into the next period; the rest expires')
    .option(
      '--expires <when>',
      'a number of days (90d): each period’s tokens expire that long after it starts, instead of rolling over; ' +
        'or a date (2026-12-31): the last day of the allowance, when all its tokens expire',
    )
    .action(
      async (
        slug: string,
        targetText: string,
        amountText: string,
        periodText: string,
        options: { rolloverCap?: string; expires?: string },
      ) => {
        const amount = requireLeadingAmount([amountText, periodText], 'other');
        const expiry = requireExpiry(options.expires);
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
            expiry,
          });
          if (!result.ok) {
            const { failure } = result;
            const line =
              failure === 'expiry_past' || failure === 'expiry_too_far' || failure === 'expiry_with_rollover'
                ? failureLine(failure, result.detail)
                : `${failure}.`;
            throw new CliError(`Allowance not set: ${line}`);
          }
          const ends = describeAllowanceExpiry(result.value);
          console.log(
            `Allowance set: ${formatTokens(result.value.amount)} tokens ${result.value.period} for ${targetText}` +
              `${ends ? `; ${ends}` : ''}.`,
          );
        });
      },
    );
}

/** `allot allowance remove`: stop the allowance of a role or member. */
function registerAllowanceRemove(allowance: Command): void {
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
}

/** `allot allowance list`: list the allowances in force. */
function registerAllowanceList(allowance: Command): void {
  allowance
    .command('list <org>')
    .description('List the allowances in force')
    .action(async (slug: string) =>
      withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const rules = await listLiveRules(ctx.db.orm, organisation.id);
        console.log(
          formatTable(
            ['target', 'amount', 'period', 'rollover cap', 'expiry'],
            rules.map((rule) => [
              rule.role ?? `member #${rule.memberId}`,
              formatTokens(rule.amount),
              rule.period,
              rule.rolloverCapTokens === null ? 'unlimited' : formatTokens(rule.rolloverCapTokens),
              describeAllowanceExpiry(rule) ?? 'end of each period',
            ]),
          ),
        );
      }),
    );
}

/** `allot allowance issue`: issue the allowances due now (the scheduler does this every 15 minutes; running it again is harmless). */
function registerAllowanceIssue(allowance: Command): void {
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
}
