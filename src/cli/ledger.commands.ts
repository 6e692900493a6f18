import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { needsConfirmation, unconfirmedTokensMax } from '../ledger/ledger.models';
import type { Account, Transfer } from '../ledger/ledger.repository';
import * as ledgerRepo from '../ledger/ledger.repository';
import { auditLedger, getBalances, grantTokens, issueBudget, reverseTransfer } from '../ledger/ledger.usecases';
import { type Ctx, operatorActor } from '../lib/context';
import type { Member, Organisation } from '../members/members.repository';
import * as membersRepo from '../members/members.repository';
import {
  CliError,
  operationKey,
  requireDate,
  requireLeadingAmount,
  requireMember,
  requireOrganisation,
  withCliContext,
} from './cli-context';
import { describeAccount, describeMember, failureLine, formatTable, formatTokens } from './cli-format';

/** Transfers listed by default, and the most one `transfers` call shows. */
const transfersListDefault = 20;
/** Transfers read per page while exporting: memory stays bounded however long the export. */
const exportPageSize = 1_000;
/** Violations printed by `audit`; the count is always printed in full. */
const violationsShownMax = 1_000;

const yesOption = '--yes';
const yesHelp = `confirm a grant or budget of more than ${formatTokens(unconfirmedTokensMax)} tokens in all`;

/** The options budget and grant share. */
interface CliOptions {
  key?: string;
  yes?: boolean;
}

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

const keyOption = '--key <key>';
const keyHelp = 'idempotency key: the same key twice posts once (default: a fresh one)';

/** Names accounts and actors for listings, reading each account and member at most once. */
function createNamer(ctx: Ctx, organisation: Organisation) {
  const accounts = new Map<bigint, Account>();
  const members = new Map<bigint, Member>();
  return {
    async load(rows: Transfer[]): Promise<void> {
      const accountIds = new Set<bigint>();
      for (const row of rows) {
        if (!accounts.has(row.debitAccountId)) accountIds.add(row.debitAccountId);
        if (!accounts.has(row.creditAccountId)) accountIds.add(row.creditAccountId);
      }
      for (const account of await ledgerRepo.findAccountsByIds(ctx.db.orm, organisation.id, [...accountIds])) {
        accounts.set(account.id, account);
      }
      const memberIds = new Set<bigint>();
      for (const account of accounts.values()) {
        if (account.memberId !== null && !members.has(account.memberId)) memberIds.add(account.memberId);
      }
      for (const row of rows) {
        if (row.actorMemberId !== null && !members.has(row.actorMemberId)) memberIds.add(row.actorMemberId);
      }
      for (const member of await membersRepo.findMembers(ctx.db.orm, organisation.id, [...memberIds])) {
        members.set(member.id, member);
      }
    },
    account(id: bigint): string {
      const account = accounts.get(id);
      if (!account) return `account #${id}`;
      return describeAccount(account, account.memberId === null ? undefined : members.get(account.memberId));
    },
    actor(row: Transfer): string {
      if (row.actorMemberId === null) return row.platform === 'cli' ? 'operator (cli)' : row.platform;
      const member = members.get(row.actorMemberId);
      const who = member ? (member.email ?? `${member.displayName} #${member.id}`) : `#${row.actorMemberId}`;
      return `${who} (${row.platform})`;
    },
  };
}

function parsePositiveInteger(text: string, what: string, example: string): bigint {
  if (!/^[0-9]{1,18}$/.test(text.trim()) || BigInt(text.trim()) === 0n) {
    throw new CliError(`${what} must be a positive whole number, like ${example}.`);
  }
  return BigInt(text.trim());
}

/**
 * A spreadsheet runs a cell that starts with = + - @ as a formula; finance opens these exports in one,
 * so such text cells get a leading apostrophe (OWASP's advice for CSV injection).
 */
function spreadsheetSafe(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

export const exportColumns = [
  'time',
  'code',
  'from',
  'to',
  'amount',
  'actor',
  'memo',
  'transfer_id',
  'operation_key',
  'reverses_transfer_id',
] as const;

async function write(output: Writable, text: string): Promise<void> {
  if (!output.write(text)) await once(output, 'drain');
}

export function registerLedgerCommands(program: Command): void {
  program
    .command('budget')
    .description('Issue tokens from the treasury into a manager’s budget')
    .argument('<org>', 'organisation slug')
    .argument('<manager>', 'email or id of a manager')
    .argument('<amount>', 'tokens, like 500k or 2M')
    .argument('[memo...]', 'why, kept on the transfer')
    .option(keyOption, keyHelp)
    .option(yesOption, yesHelp)
    .action(async (slug: string, reference: string, amountText: string, memo: string[], options: CliOptions) => {
      const amount = requireLeadingAmount([amountText, ...memo], 'reason');
      requireConfirmation(amount, options.yes, `Issuing ${formatTokens(amount)} tokens`);
      const key = operationKey(options.key);
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const manager = await requireMember(ctx, organisation, reference);
        const issued = await issueBudget(ctx, {
          orgId: organisation.id,
          actor: operatorActor,
          managerId: manager.id,
          amount,
          memo: memo.join(' '),
          key,
        });
        if (!issued.ok) throw new CliError(failureLine(issued.failure, issued.detail));
        const { value } = issued;
        console.log(
          `${value.replayed ? 'Already issued (same --key): ' : 'Issued '}${formatTokens(amount)} tokens to the budget of ` +
            `${describeMember(manager)}; it now holds ${formatTokens(value.budgetBalance)}. Transfer ${value.transferIds[0]}.`,
        );
      });
    });

  program
    .command('grant')
    .description('Grant tokens from the treasury to each member named (all or nothing)')
    .argument('<org>', 'organisation slug')
    .argument('<amount>', 'tokens each, like 50k')
    .argument('<members...>', 'emails or ids')
    .option('--memo <memo>', 'why, kept on the transfers')
    .option(keyOption, keyHelp)
    .option(yesOption, yesHelp)
    .action(async (slug: string, amountText: string, references: string[], options: CliOptions & { memo?: string }) => {
      const amount = requireLeadingAmount([amountText, ...references], 'member');
      const key = operationKey(options.key);
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
          key,
        });
        if (!granted.ok) throw new CliError(failureLine(granted.failure, granted.detail));
        const { value } = granted;
        const names = recipients.map(describeMember).join(', ');
        console.log(
          `${value.replayed ? 'Already granted (same --key): ' : 'Granted '}${formatTokens(amount)} tokens each to ${names} ` +
            `(${formatTokens(value.total)} in all, from the treasury). Transfers ${value.transferIds.join(', ')}.`,
        );
      });
    });

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
        console.log(
          `${describeMember(member)}: wallet ${formatTokens(balances.wallet)}, budget ${formatTokens(balances.budget)}`,
        );
      });
    });

  program
    .command('transfers')
    .description('List transfers, newest first')
    .argument('<org>', 'organisation slug')
    .option('--member <member>', 'only transfers touching this member’s wallet or budget (email or id)')
    .option('--limit <n>', `how many (at most ${ledgerRepo.transfersPageMax})`, String(transfersListDefault))
    .option('--before <transfer-id>', 'page back: only transfers older than this id')
    .action(async (slug: string, options: { member?: string; limit: string; before?: string }) => {
      const limit = parsePositiveInteger(options.limit, '--limit', '50');
      if (limit > BigInt(ledgerRepo.transfersPageMax)) {
        throw new CliError(`--limit is at most ${ledgerRepo.transfersPageMax}; page back with --before <id>.`);
      }
      const beforeId = options.before ? parsePositiveInteger(options.before, '--before', '1234') : undefined;
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        let accountIds: bigint[] | undefined;
        if (options.member) {
          const member = await requireMember(ctx, organisation, options.member);
          const balances = await getBalances(ctx.db.orm, organisation.id, member.id);
          accountIds = balances ? [balances.walletAccountId, balances.budgetAccountId] : [];
        }
        const rows = await ledgerRepo.listTransfers(ctx.db.orm, {
          orgId: organisation.id,
          accountIds,
          beforeId,
          limit: Number(limit),
        });
        if (rows.length === 0) {
          console.log('No transfers.');
          return;
        }
        const namer = createNamer(ctx, organisation);
        await namer.load(rows);
        console.log(
          formatTable(
            ['ID', 'TIME', 'CODE', 'FROM', 'TO', 'AMOUNT', 'ACTOR', 'MEMO'],
            rows.map((row) => [
              row.id.toString(),
              row.createdAt.toISOString(),
              row.reversesTransferId === null ? row.code : `${row.code} of ${row.reversesTransferId}`,
              namer.account(row.debitAccountId),
              namer.account(row.creditAccountId),
              formatTokens(row.amount),
              namer.actor(row),
              row.memo.replace(/\s+/g, ' '),
            ]),
          ),
        );
        if (rows.length === Number(limit)) {
          console.log(`More: allot transfers ${organisation.slug} --before ${rows[rows.length - 1]!.id}`);
        }
      });
    });

  program
    .command('export')
    .description('Export transfers as CSV for finance, oldest first (to stdout, or --output)')
    .argument('<org>', 'organisation slug')
    .option('--from <date>', 'first day included, e.g. 2026-01-01 (UTC)')
    .option('--to <date>', 'first day NOT included, e.g. 2026-02-01 (UTC)')
    .option('--output <file>', 'write to this file (replaced only once complete)')
    .action(async (slug: string, options: { from?: string; to?: string; output?: string }) => {
      const from = options.from === undefined ? undefined : requireDate(options.from, '--from');
      const to = options.to === undefined ? undefined : requireDate(options.to, '--to');
      if (from && to && from >= to)
        throw new CliError('--from must be before --to, e.g. --from 2026-01-01 --to 2026-02-01.');
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        // Written to a scratch file renamed into place at the end, so a failed export never leaves half a file.
        const scratch = options.output ? `${options.output}.partial-${process.pid}` : undefined;
        const output: Writable = scratch ? createWriteStream(scratch) : process.stdout;
        let count = 0;
        try {
          await write(output, stringify([[...exportColumns]]));
          const namer = createNamer(ctx, organisation);
          let afterId: bigint | undefined;
          for (;;) {
            const page = await ledgerRepo.listTransfersForExport(ctx.db.orm, {
              orgId: organisation.id,
              from,
              to,
              afterId,
              limit: exportPageSize,
            });
            if (page.length === 0) break;
            await namer.load(page);
            const records = page.map((row) => [
              row.createdAt.toISOString(),
              row.code,
              namer.account(row.debitAccountId),
              namer.account(row.creditAccountId),
              row.amount.toString(),
              spreadsheetSafe(namer.actor(row)),
              spreadsheetSafe(row.memo),
              row.id.toString(),
              spreadsheetSafe(row.operationKey),
              row.reversesTransferId?.toString() ?? '',
            ]);
            await write(output, stringify(records));
            count += page.length;
            afterId = page[page.length - 1]!.id;
            if (page.length < exportPageSize) break;
          }
          if (scratch && options.output) {
            output.end();
            await once(output, 'finish');
            await rename(scratch, options.output);
            console.error(`Exported ${count} transfers of ${organisation.slug} to ${options.output}.`);
          }
        } catch (error) {
          if (scratch) {
            output.destroy();
            await rm(scratch, { force: true });
          }
          throw error;
        }
      });
    });

  program
    .command('reverse')
    .description('Undo a transfer with a new reversal transfer (at most once per transfer)')
    .argument('<org>', 'organisation slug')
    .argument('<transfer-id>', 'the id shown by allot transfers')
    .argument('[memo...]', 'why')
    .option(keyOption, keyHelp)
    .action(async (slug: string, idText: string, memo: string[], options: { key?: string }) => {
      const transferId = parsePositiveInteger(idText, 'The transfer id', '1234');
      const key = operationKey(options.key);
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const reversed = await reverseTransfer(ctx, {
          orgId: organisation.id,
          actor: operatorActor,
          transferId,
          memo: memo.join(' '),
          key,
        });
        if (!reversed.ok) throw new CliError(failureLine(reversed.failure, reversed.detail));
        const { value } = reversed;
        console.log(
          `${value.replayed ? 'Already reversed (same --key): ' : 'Reversed '}transfer ${transferId} ` +
            `(${value.reversed.code}, ${formatTokens(value.reversed.amount)} tokens) with transfer ${value.transferIds[0]}.`,
        );
      });
    });

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
          console.log(`Ledger audit of ${scope}: OK (balances sum to zero, match their transfers, no overdraft).`);
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
