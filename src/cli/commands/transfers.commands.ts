import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import type { Account, Transfer } from '../../ledger/ledger.repository';
import * as ledgerRepo from '../../ledger/ledger.repository';
import { getBalances } from '../../ledger/ledger.usecases';
import type { Ctx } from '../../lib/context';
import type { Member, Organisation } from '../../members/members.repository';
import * as membersRepo from '../../members/members.repository';
import { CliError, requireDate, requireMember, requireOrganisation, withCliContext } from '../cli-context';
import { describeAccount, formatTable, formatTokens } from '../cli-format';

// `allot transfers` and `allot export`: the ledger's transfers, listed for the operator or exported for finance.

/** Transfers listed by default, and the most one `transfers` call shows. */
const transfersListDefault = 20;
/** Transfers read per page while exporting: memory stays bounded however long the export. */
const exportPageSize = 1_000;

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

type Namer = ReturnType<typeof createNamer>;

/** A positive whole number typed by the operator (an id, a limit); anything else ends the command, exit 1. */
export function parsePositiveInteger(text: string, what: string, example: string): bigint {
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

/** The columns of `allot export`, in order (its CSV header). */
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

/** `allot transfers <org>`: a page of transfers, newest first, with the command for the next page. */
export function registerTransfers(program: Command): void {
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
          formatTable(['ID', 'TIME', 'CODE', 'FROM', 'TO', 'AMOUNT', 'ACTOR', 'MEMO'], rows.map(listRow(namer))),
        );
        if (rows.length === Number(limit)) {
          console.log(`More: allot transfers ${organisation.slug} --before ${rows[rows.length - 1]!.id}`);
        }
      });
    });
}

/** One line of `allot transfers`. */
function listRow(namer: Namer): (row: Transfer) => string[] {
  return (row) => [
    row.id.toString(),
    row.createdAt.toISOString(),
    row.reversesTransferId === null ? row.code : `${row.code} of ${row.reversesTransferId}`,
    namer.account(row.debitAccountId),
    namer.account(row.creditAccountId),
    formatTokens(row.amount),
    namer.actor(row),
    row.memo.replace(/\s+/g, ' '),
  ];
}

/** One record of `allot export`, in the order of exportColumns. */
function exportRecord(namer: Namer): (row: Transfer) => string[] {
  return (row) => [
    row.createdAt.toISOString(),
    row.code,
    namer.account(row.debitAccountId),
    namer.account(row.creditAccountId),
    row.amount.toString(),
    spreadsheetSafe(namer.actor(row)),
    spreadsheetSafe(row.memo),
    row.id.toString(),
    spreadsheetSafe(row.idempotencyKey),
    row.reversesTransferId?.toString() ?? '',
  ];
}

interface ExportOptions {
  from?: string;
  to?: string;
  output?: string;
}

/** `allot export <org>`: every transfer in the window as CSV, oldest first, to stdout or a file. */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description('Export transfers as CSV for finance, oldest first (to stdout, or --output)')
    .argument('<org>', 'organisation slug')
    .option('--from <date>', 'first day included, e.g. 2026-01-01 (UTC)')
    .option('--to <date>', 'first day NOT included, e.g. 2026-02-01 (UTC)')
    .option('--output <file>', 'write to this file (replaced only once complete)')
    .action(async (slug: string, options: ExportOptions) => {
      const from = options.from === undefined ? undefined : requireDate(options.from, '--from');
      const to = options.to === undefined ? undefined : requireDate(options.to, '--to');
      if (from && to && from >= to)
        throw new CliError('--from must be before --to, e.g. --from 2026-01-01 --to 2026-02-01.');
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        await exportTransfers(ctx, organisation, { from, to, output: options.output });
      });
    });
}

/**
 * Writes the CSV page by page (exportPageSize transfers at a time). To a file, it goes to a scratch file
 * renamed into place at the end, so a failed export never leaves half a file.
 */
async function exportTransfers(
  ctx: Ctx,
  organisation: Organisation,
  window: { from?: Date; to?: Date; output?: string },
): Promise<void> {
  const scratch = window.output ? `${window.output}.partial-${process.pid}` : undefined;
  const output: Writable = scratch ? createWriteStream(scratch) : process.stdout;
  let count = 0;
  try {
    await write(output, stringify([[...exportColumns]]));
    const namer = createNamer(ctx, organisation);
    let afterId: bigint | undefined;
    for (;;) {
      const page = await ledgerRepo.listTransfersForExport(ctx.db.orm, {
        orgId: organisation.id,
        from: window.from,
        to: window.to,
        afterId,
        limit: exportPageSize,
      });
      if (page.length === 0) break;
      await namer.load(page);
      await write(output, stringify(page.map(exportRecord(namer))));
      count += page.length;
      afterId = page[page.length - 1]!.id;
      if (page.length < exportPageSize) break;
    }
    if (scratch && window.output) {
      output.end();
      await once(output, 'finish');
      await rename(scratch, window.output);
      console.error(`Exported ${count} transfers of ${organisation.slug} to ${window.output}.`);
    }
  } catch (error) {
    if (scratch) {
      output.destroy();
      await rm(scratch, { force: true });
    }
    throw error;
  }
}
