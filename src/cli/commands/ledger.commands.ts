import type { Command } from 'commander';
import { needsConfirmation, unconfirmedTokensMax } from '../../ledger/ledger.models';
import { auditLedger, getBalances, grantTokens, issueBudget } from '../../ledger/ledger.usecases';
import { memberNextExpiries } from '../../ledger/lots.usecases';
import { reverseTransfer } from '../../ledger/reversal.usecases';
import { operatorActor } from '../../lib/context';
import { dayLabel } from '../../lib/expiry.models';
import type { Member } from '../../members/members.repository';
import {
  CliError,
  idempotencyKey,
  requireExpiry,
  requireLeadingAmount,
  requireMember,
  requireOrganisation,
  withCliContext,
} from '../cli-context';
import { describeMember, failureLine, formatTokens } from '../cli-format';
import { parsePositiveInteger, registerExport, registerTransfers } from './transfers.commands';

// The ledger's commands, at the top level: `allot budget`, `grant`, `balance`, `transfers`, `export`,
// `reverse` and `audit`.

/** Violations printed by `audit`; the count is always printed in full. */
const violationsShownMax = 1_000;

const yesOption = '--yes';
const yesHelp = `confirm a grant or budget of more than ${formatTokens(unconfirmedTokensMax)} tokens in all`;
const keyOption = '--key <key>';
const keyHelp = 'idempotency key: the same key twice posts once (default: a fresh one)';

const expiresOption = '--expires <when>';
const expiresHelp =
  'when the tokens expire: a date (2026-12-31, the end of that day in the recipient’s time zone), a number ' +
  'of days (90d), or never (default: the organisation’s default expiry, see allot org set)';

/** The options budget and grant share. */
interface CliOptions {
  key?: string;
  yes?: boolean;
  expires?: string;
}

/** `, valid until 31 Dec 2026` for tokens that expire; nothing for tokens that never do. */
const validUntil = (day: string | null) => (day ? `, valid until ${day}` : '');

/**
 * A grant or budget issue moving more than unconfirmedTokensMax in all needs --yes: without it the
 * command ends before writing anything (exit 1) and says to add it.
 */
function requireConfirmation(total: bigint, yes: boolean | undefined, doing: string): void {
  if (!needsConfirmation(total) || yes) return;
  throw new CliError(
    `${doing} is more than ${formatTokens(unconfirmedTokensMax)} tokens at once, so it needs a confirmation: nothing was written. ` +
      'If that is what you mean, run the same command again with --yes.',
  );
}

/** Registers the ledger's commands on the program, in the order `allot --help` lists them. */
export function registerLedgerCommands(program: Command): void {
  registerBudget(program);
  registerGrant(program);
  registerBalance(program);
  registerTransfers(program);
  registerExport(program);
  registerReverse(program);
  registerAudit(program);
}

/** `allot budget <org> <manager> <amount> [memo...]`: issue from the treasury into a manager's budget. */
function registerBudget(program: Command): void {
  program
    .command('budget')
    .description('Issue tokens from the treasury into a manager’s budget')
    .argument('<org>', 'organisation slug')
    .argument('<manager>', 'email or id of a manager')
    .argument('<amount>', 'tokens, like 500k or 2M')
    .argument('[memo...]', 'why, kept on the transfer')
    .option(keyOption, keyHelp)
    .option(yesOption, yesHelp)
    .option(expiresOption, expiresHelp)
    .action(async (slug: string, reference: string, amountText: string, memo: string[], options: CliOptions) => {
      const amount = requireLeadingAmount([amountText, ...memo], 'reason');
      const expiry = requireExpiry(options.expires);
      requireConfirmation(amount, options.yes, `Issuing ${formatTokens(amount)} tokens`);
      const key = idempotencyKey(options.key);
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const manager = await requireMember(ctx, organisation, reference);
        const issued = await issueBudget(ctx, {
          orgId: organisation.id,
          actor: operatorActor,
          managerId: manager.id,
          amount,
          memo: memo.join(' '),
          idempotencyKey: key,
          expiry,
        });
        if (!issued.ok) throw new CliError(failureLine(issued.failure, issued.detail));
        const { value } = issued;
        console.log(
          `${value.replayed ? 'Already issued (same --key): ' : 'Issued '}${formatTokens(amount)} tokens` +
            `${validUntil(value.expiry.validUntil)} to the budget of ` +
            `${describeMember(manager)}; it now holds ${formatTokens(value.budgetBalance)}. Transfer ${value.transferIds[0]}.`,
        );
      });
    });
}

/** `allot grant <org> <amount> <members...>`: the same amount from the treasury to each, all or nothing. */
function registerGrant(program: Command): void {
  program
    .command('grant')
    .description('Grant tokens from the treasury to each member named (all or nothing)')
    .argument('<org>', 'organisation slug')
    .argument('<amount>', 'tokens each, like 50k')
    .argument('<members...>', 'emails or ids')
    .option('--memo <memo>', 'why, kept on the transfers')
    .option(keyOption, keyHelp)
    .option(yesOption, yesHelp)
    .option(expiresOption, expiresHelp)
    .action(async (slug: string, amountText: string, references: string[], options: CliOptions & { memo?: string }) => {
      const amount = requireLeadingAmount([amountText, ...references], 'member');
      const expiry = requireExpiry(options.expires);
      const key = idempotencyKey(options.key);
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const recipients: Member[] = [];
        for (const reference of references) recipients.push(await requireMember(ctx, organisation, reference));
        const people = BigInt(new Set(recipients.map((member) => member.id)).size);
        requireConfirmation(
          amount * people,
          options.yes,
          people > 1n
            ? `Granting ${formatTokens(amount * people)} tokens in all (${formatTokens(amount)} each to ${people} members)`
            : `Granting ${formatTokens(amount)} tokens`,
        );
        const granted = await grantTokens(ctx, {
          orgId: organisation.id,
          actor: operatorActor,
          recipientIds: recipients.map((member) => member.id),
          amount,
          memo: options.memo,
          idempotencyKey: key,
          expiry,
        });
        if (!granted.ok) throw new CliError(failureLine(granted.failure, granted.detail));
        const { value } = granted;
        // A person named twice is paid once, and named once.
        const paid = [...new Map(recipients.map((member) => [member.id, member])).values()];
        const several = paid.length > 1;
        console.log(
          `${value.replayed ? 'Already granted (same --key): ' : 'Granted '}${formatTokens(amount)} tokens` +
            `${several ? ' each' : ''}${validUntil(value.expiry.validUntil)} to ${paid.map(describeMember).join(', ')} ` +
            `(${several ? `${formatTokens(value.total)} in all, ` : ''}from the treasury). ` +
            `${value.transferIds.length === 1 ? 'Transfer' : 'Transfers'} ${value.transferIds.join(', ')}.`,
        );
      });
    });
}

/** `allot balance <org> <member>`: the member's wallet and budget. */
function registerBalance(program: Command): void {
  program
    .command('balance')
    .description('Show a member’s wallet and budget')
    .argument('<org>', 'organisation slug')
    .argument('<member>', 'email or id')
    .action(async (slug: string, reference: string) => {
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const member = await requireMember(ctx, organisation, reference);
        const balances = await getBalances(ctx.db.orm, organisation.id, member.id);
        if (!balances) throw new Error(`member ${member.id} has no accounts`);
        const next = await memberNextExpiries(ctx, { orgId: organisation.id, memberId: member.id });
        const expiring = [
          ...(next.wallet ? [`${formatTokens(next.wallet.tokens)} tokens expire on ${dayLabel(next.wallet.day)}`] : []),
          ...(next.budget
            ? [`${formatTokens(next.budget.tokens)} tokens of the budget expire on ${dayLabel(next.budget.day)}`]
            : []),
        ];
        console.log(
          `${describeMember(member)}: wallet ${formatTokens(balances.wallet)}` +
            // Only while AI calls hold tokens (README, "Reservations").
            (balances.held > 0n
              ? ` (held by AI calls in flight ${formatTokens(balances.held)}, available ${formatTokens(balances.wallet - balances.held)})`
              : '') +
            `, budget ${formatTokens(balances.budget)}` +
            (expiring.length > 0 ? `; ${expiring.join('; ')}` : ''),
        );
      });
    });
}

/** `allot reverse <org> <transfer-id> [memo...]`: undo a transfer with a reversal, at most once. */
function registerReverse(program: Command): void {
  program
    .command('reverse')
    .description('Undo a transfer with a new reversal transfer (at most once per transfer)')
    .argument('<org>', 'organisation slug')
    .argument('<transfer-id>', 'the id shown by allot transfers')
    .argument('[memo...]', 'why')
    .option(keyOption, keyHelp)
    .action(async (slug: string, idText: string, memo: string[], options: { key?: string }) => {
      const transferId = parsePositiveInteger(idText, 'The transfer id', '1234');
      const key = idempotencyKey(options.key);
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const reversed = await reverseTransfer(ctx, {
          orgId: organisation.id,
          actor: operatorActor,
          transferId,
          memo: memo.join(' '),
          idempotencyKey: key,
        });
        if (!reversed.ok) throw new CliError(failureLine(reversed.failure, reversed.detail));
        const { value } = reversed;
        console.log(
          `${value.replayed ? 'Already reversed (same --key): ' : 'Reversed '}transfer ${transferId} ` +
            `(${value.reversed.code}, ${formatTokens(value.reversed.amount)} tokens) with transfer ${value.transferIds[0]}` +
            (value.amount < value.reversed.amount
              ? `: ${formatTokens(value.amount)} tokens taken back, the rest was already spent or expired.`
              : '.'),
        );
      });
    });
}

/** `allot audit [org]`: the ledger's invariant check; exit 1 on any violation. */
function registerAudit(program: Command): void {
  program
    .command('audit')
    .description('Check the ledger’s invariants; exits non-zero on any violation')
    .argument('[org]', 'organisation slug (default: all)')
    .action(async (slug: string | undefined) => {
      await withCliContext(async (ctx) => {
        const organisation = slug ? await requireOrganisation(ctx, slug) : undefined;
        const violations = await auditLedger(ctx, { orgId: organisation?.id });
        const scope = organisation ? organisation.slug : 'all organisations';
        if (violations.length === 0) {
          console.log(
            `Ledger audit of ${scope}: OK (balances sum to zero, match their transfers, no overdraft; ` +
              'holds match open reservations).',
          );
          return;
        }
        for (const violation of violations.slice(0, violationsShownMax)) {
          const account = violation.accountId === null ? '' : ` account ${violation.accountId}`;
          console.log(`VIOLATION org ${violation.orgId}${account}: ${violation.invariant}: ${violation.detail}`);
        }
        throw new CliError(`Ledger audit of ${scope}: ${violations.length} violation(s). Stop writes and investigate.`);
      });
    });
}
