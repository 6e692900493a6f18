import type { Ctx } from '../lib/context';
import { spreadsheetSafe } from '../lib/csv.models';
import type { Member } from '../members/members.repository';
import * as membersRepo from '../members/members.repository';
import type { Account, Transfer } from './ledger.repository';
import * as ledgerRepo from './ledger.repository';

// Transfers as people read them: accounts and actors by name, for the CLI's `transfers` and `export`
// and the dashboard's ledger page and CSV export, which must agree.

/** An account as finance reads it: "treasury", "wallet ana@acme.com", "budget #12". */
export function describeAccount(account: Account, owner: Member | undefined): string {
  if (account.memberId === null) return account.kind;
  const who = owner ? (owner.email ?? `${owner.displayName} #${owner.id}`) : `#${account.memberId}`;
  return `${account.kind} ${who}`;
}

/** Names accounts and actors of transfers, reading each account and member at most once. */
export interface TransferNamer {
  /** Reads the accounts and members of these transfers (call before naming them). */
  load(rows: Transfer[]): Promise<void>;
  account(id: bigint): string;
  /** Who made a transfer: `ana@acme.com (slack)`, `operator (cli)`, `api`, … */
  actor(row: Transfer): string;
  /** The member an account belongs to, if it is a wallet or budget already loaded. */
  ownerOf(accountId: bigint): Member | undefined;
}

export function createTransferNamer(ctx: Ctx, orgId: bigint): TransferNamer {
  const accounts = new Map<bigint, Account>();
  const members = new Map<bigint, Member>();
  return {
    async load(rows) {
      const accountIds = new Set<bigint>();
      for (const row of rows) {
        if (!accounts.has(row.debitAccountId)) accountIds.add(row.debitAccountId);
        if (!accounts.has(row.creditAccountId)) accountIds.add(row.creditAccountId);
      }
      for (const account of await ledgerRepo.findAccountsByIds(ctx.db.orm, orgId, [...accountIds])) {
        accounts.set(account.id, account);
      }
      const memberIds = new Set<bigint>();
      for (const account of accounts.values()) {
        if (account.memberId !== null && !members.has(account.memberId)) memberIds.add(account.memberId);
      }
      for (const row of rows) {
        if (row.actorMemberId !== null && !members.has(row.actorMemberId)) memberIds.add(row.actorMemberId);
      }
      for (const member of await membersRepo.findMembers(ctx.db.orm, orgId, [...memberIds])) {
        members.set(member.id, member);
      }
    },
    account(id) {
      const account = accounts.get(id);
      if (!account) return `account #${id}`;
      return describeAccount(account, account.memberId === null ? undefined : members.get(account.memberId));
    },
    actor(row) {
      if (row.actorMemberId === null) return row.platform === 'cli' ? 'operator (cli)' : row.platform;
      const member = members.get(row.actorMemberId);
      const who = member ? (member.email ?? `${member.displayName} #${member.id}`) : `#${row.actorMemberId}`;
      return `${who} (${row.platform})`;
    },
    ownerOf(accountId) {
      const account = accounts.get(accountId);
      return account?.memberId === null || account === undefined ? undefined : members.get(account.memberId);
    },
  };
}

/** The columns of a transfer export (`allot export`, the dashboard's CSV), in order: its CSV header. */
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

/** One record of a transfer export, in the order of exportColumns; text cells made spreadsheet-safe. */
export function exportRecord(namer: TransferNamer, row: Transfer): string[] {
  return [
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

/** Transfers read per page while exporting: memory stays bounded however long the export. */
export const exportPageSize = 1_000;

/**
 * Every transfer created in [from, to) as export records (exportColumns), oldest first, one page of
 * `exportPageSize` at a time: the caller writes each page before the next is read.
 */
export async function* transferExportPages(
  ctx: Ctx,
  input: { orgId: bigint; from?: Date; to?: Date },
): AsyncGenerator<string[][]> {
  const namer = createTransferNamer(ctx, input.orgId);
  let afterId: bigint | undefined;
  for (;;) {
    const page = await ledgerRepo.listTransfersForExport(ctx.db.orm, {
      orgId: input.orgId,
      from: input.from,
      to: input.to,
      afterId,
      limit: exportPageSize,
    });
    if (page.length === 0) return;
    await namer.load(page);
    yield page.map((row) => exportRecord(namer, row));
    afterId = page[page.length - 1]!.id;
    if (page.length < exportPageSize) return;
  }
}
