import type { Request, Response, Router } from 'express';
import * as ledgerRepo from '../ledger/ledger.repository';
import { type TransferCode, transferCodes } from '../ledger/ledger.tables';
import { getBalances } from '../ledger/ledger.usecases';
import { reversalRefusalLines } from '../ledger/reversal.replies';
import { type ReverseFailure, reverseTransfer } from '../ledger/reversal.usecases';
import { findReversalsOf } from '../ledger/transfer-listing.repository';
import { createTransferNamer } from '../ledger/transfer-listing.usecases';
import type { Ctx } from '../lib/context';
import * as membersRepo from '../members/members.repository';
import { newSecretToken } from '../sessions/sessions.models';
import {
  type Dashboard,
  field,
  frameOf,
  positiveId,
  sendPage,
  type Viewer,
  viewerOf,
  webActor,
} from './dashboard.http';
import { readDateRange } from './filters.models';
import {
  type LedgerFilters,
  type LedgerPageData,
  type LedgerRow,
  ledgerPage,
  reverseConfirmPage,
} from './views/ledger.view';
import { messagePage } from './views/message.view';

// The ledger, for admins: transfers newest first, a page at a time (keyset by id, so any page of ten
// million rows is one index range), filtered by member, code and dates; and reversal, with a
// confirmation step, through the ledger's own verb (at most once per transfer, refused if it would
// overdraw, with its audit row).

/** Transfers per page. */
export const ledgerPageSize = 50;

/** Words for every way a reversal can be refused (reversal.usecases ReverseFailure). */
const reverseFailureLines: Record<ReverseFailure, string> = {
  not_an_admin: 'Only admins may reverse transfers.',
  transfer_not_found: 'There is no such transfer.',
  ...reversalRefusalLines,
  exceeds_balance:
    'Reversing it would take tokens that AI calls in flight hold, so nothing was moved. Try again once they settle.',
  idempotency_conflict: 'This confirmation was already used for another reversal. Open the transfer again.',
};

function textOf(req: Request, name: string): string {
  const value = req.query[name];
  return typeof value === 'string' ? value.trim() : '';
}

function filtersOf(req: Request): LedgerFilters {
  const code = textOf(req, 'code');
  return {
    member: textOf(req, 'member').slice(0, 320),
    code: transferCodes.find((known) => known === code),
    from: textOf(req, 'from').slice(0, 40),
    to: textOf(req, 'to').slice(0, 40),
    before: positiveId(textOf(req, 'before')),
  };
}

/** The accounts of the member a filter names (an id or an email), or a problem to show. */
async function memberAccounts(ctx: Ctx, orgId: bigint, text: string): Promise<bigint[] | string> {
  const id = positiveId(text);
  const member = id
    ? await membersRepo.findMember(ctx.db.orm, orgId, id)
    : text.includes('@')
      ? await membersRepo.findMemberByEmail(ctx.db.orm, orgId, text.toLowerCase())
      : undefined;
  if (!member) return `No member “${text}”: type their email or their id.`;
  const balances = await getBalances(ctx.db.orm, orgId, member.id);
  return balances ? [balances.walletAccountId, balances.budgetAccountId] : [];
}

async function loadLedger(ctx: Ctx, viewer: Viewer, filters: LedgerFilters): Promise<LedgerPageData> {
  const orgId = viewer.organisation.id;
  const base = { filters, rows: [] as LedgerRow[], timeZone: viewer.organisation.timeZone, pageSize: ledgerPageSize };
  const range = readDateRange({ from: filters.from, to: filters.to }, viewer.organisation.timeZone);
  if (!range.ok) return { ...base, problem: range.message };
  const accountIds = filters.member ? await memberAccounts(ctx, orgId, filters.member) : undefined;
  if (typeof accountIds === 'string') return { ...base, problem: accountIds };
  const transfers = await ledgerRepo.listTransfers(ctx.db.orm, {
    orgId,
    accountIds,
    codes: filters.code ? [filters.code as TransferCode] : undefined,
    ...range.range,
    beforeId: filters.before,
    limit: ledgerPageSize,
  });
  const namer = createTransferNamer(ctx, orgId);
  await namer.load(transfers);
  const reversals = await findReversalsOf(
    ctx.db.orm,
    orgId,
    transfers.map((transfer) => transfer.id),
  );
  return {
    ...base,
    rows: transfers.map((transfer) => ({
      transfer,
      from: namer.account(transfer.debitAccountId),
      to: namer.account(transfer.creditAccountId),
      actor: namer.actor(transfer),
      reversedBy: reversals.get(transfer.id),
    })),
  };
}

async function showConfirmation(ctx: Ctx, res: Response, transferId: bigint | undefined, problem?: string) {
  const viewer = viewerOf(res);
  const orgId = viewer.organisation.id;
  const transfer = transferId ? await ledgerRepo.findTransfer(ctx.db.orm, orgId, transferId) : undefined;
  if (!transfer) {
    return sendPage(
      res,
      404,
      messagePage({
        title: 'No such transfer',
        viewer: frameOf(viewer),
        lines: [reverseFailureLines.transfer_not_found],
      }),
    );
  }
  const namer = createTransferNamer(ctx, orgId);
  await namer.load([transfer]);
  const reversedBy = (await findReversalsOf(ctx.db.orm, orgId, [transfer.id])).get(transfer.id);
  sendPage(
    res,
    problem ? 409 : 200,
    reverseConfirmPage({
      viewer: frameOf(viewer),
      row: {
        transfer,
        from: namer.account(transfer.debitAccountId),
        to: namer.account(transfer.creditAccountId),
        actor: namer.actor(transfer),
        reversedBy,
      },
      timeZone: viewer.organisation.timeZone,
      // A fresh key per confirmation page: submitting it twice posts once (the ledger's idempotency).
      idempotencyKey: `web:reversal:${transfer.id}:${newSecretToken()}`,
      problem,
    }),
  );
}

/** The key a confirmation page carries for one transfer (anything else is not from that page). */
function reversalKeyOf(transferId: bigint, key: string): string | undefined {
  return new RegExp(`^web:reversal:${transferId}:[A-Za-z0-9_-]{43}$`).test(key) ? key : undefined;
}

/** Mounts the ledger and reversal (relative to /dashboard; behind the admins-only check of /org). */
export function mountLedger(router: Router, dashboard: Dashboard): void {
  const { ctx } = dashboard.deps;
  router.get('/org/ledger', async (req, res) => {
    const viewer = viewerOf(res);
    const data = await loadLedger(ctx, viewer, filtersOf(req));
    const reversal = positiveId(textOf(req, 'reversal'));
    sendPage(res, data.problem ? 400 : 200, ledgerPage({ viewer: frameOf(viewer), data, reversal }));
  });

  router.get('/org/ledger/:id/reverse', async (req, res) => showConfirmation(ctx, res, positiveId(req.params.id)));

  router.post('/org/ledger/:id/reverse', async (req, res) => {
    const viewer = viewerOf(res);
    const transferId = positiveId(req.params.id);
    const key = transferId ? reversalKeyOf(transferId, field(req, 'key')) : undefined;
    if (!transferId || !key)
      return showConfirmation(ctx, res, transferId, 'That confirmation could not be read; confirm again.');
    const reversed = await reverseTransfer(ctx, {
      orgId: viewer.organisation.id,
      actor: webActor(res),
      transferId,
      memo: field(req, 'memo').slice(0, 500),
      idempotencyKey: key,
    });
    if (!reversed.ok) return showConfirmation(ctx, res, transferId, reverseFailureLines[reversed.failure]);
    res.redirect(303, `/dashboard/org/ledger?reversal=${reversed.value.transferIds[0]}`);
  });
}
