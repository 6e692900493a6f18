import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import type { Transfer } from '../../ledger/ledger.repository';
import * as ledgerRepo from '../../ledger/ledger.repository';
import { getBalances } from '../../ledger/ledger.usecases';
import {
  createTransferNamer,
  exportColumns,
  type TransferNamer,
  transferExportPages,
} from '../../ledger/transfer-listing.usecases';
import type { Ctx } from '../../lib/context';
import type { Organisation } from '../../members/members.repository';
import { CliError, requireDate, requireMember, requireOrganisation, withCliContext } from '../cli-context';
import { formatTable, formatTokens } from '../cli-format';

// `allot transfers` and `allot export`: the ledger's transfers, listed for the operator or exported for finance.

/** Transfers listed by default, and the most one `transfers` call shows. */
const transfersListDefault = 20;

/** A positive whole number typed by the operator (an id, a limit); anything else ends the command, exit 1. */
export function parsePositiveInteger(text: string, what: string, example: string): bigint {
  if (!/^[0-9]{1,18}$/.test(text.trim()) || BigInt(text.trim()) === 0n) {
    throw new CliError(`${what} must be a positive whole number, like ${example}.`);
  }
  return BigInt(text.trim());
}

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
        const namer = createTransferNamer(ctx, organisation.id);
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
function listRow(namer: TransferNamer): (row: Transfer) => string[] {
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
 * Writes the CSV page by page (transferExportPages: a thousand transfers at a time). To a file, it goes to a scratch file
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
    for await (const page of transferExportPages(ctx, { orgId: organisation.id, from: window.from, to: window.to })) {
      await write(output, stringify(page));
      count += page.length;
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
