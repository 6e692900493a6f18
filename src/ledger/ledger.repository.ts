import { and, asc, desc, eq, gt, gte, inArray, lt, lte, or, sql } from 'drizzle-orm';
import { type Orm, queryRows } from '../db/client';
import { type AccountKind, accounts, type TransferCode, transfers } from './ledger.tables';
import { transferIdBounds } from './transfer-listing.repository';

export type Account = typeof accounts.$inferSelect;
export type Transfer = typeof transfers.$inferSelect;

/** Bound on transfers listed or exported in one page. */
export const transfersPageMax = 1_000;

export async function insertOrganisationAccounts(orm: Orm, orgId: bigint): Promise<void> {
  await orm.insert(accounts).values([
    { orgId, kind: 'treasury' },
    { orgId, kind: 'usage' },
    { orgId, kind: 'expired' },
  ]);
}

export async function insertMemberAccounts(orm: Orm, orgId: bigint, memberId: bigint): Promise<void> {
  await orm
    .insert(accounts)
    .values([
      { orgId, kind: 'wallet', memberId },
      { orgId, kind: 'budget', memberId },
    ])
    .onConflictDoNothing();
}

export async function findAccount(
  orm: Orm,
  orgId: bigint,
  kind: AccountKind,
  memberId: bigint | null = null,
): Promise<Account | undefined> {
  const [row] = await orm
    .select()
    .from(accounts)
    .where(
      and(
        eq(accounts.orgId, orgId),
        eq(accounts.kind, kind),
        memberId === null ? sql`${accounts.memberId} IS NULL` : eq(accounts.memberId, memberId),
      ),
    )
    .limit(1);
  return row;
}

/** The wallet and budget of several members in one indexed read. */
export async function findMemberAccounts(orm: Orm, orgId: bigint, memberIds: bigint[]): Promise<Account[]> {
  if (memberIds.length === 0) return [];
  return orm
    .select()
    .from(accounts)
    .where(and(eq(accounts.orgId, orgId), inArray(accounts.memberId, memberIds)));
}

export async function findAccountsByIds(orm: Orm, orgId: bigint, accountIds: bigint[]): Promise<Account[]> {
  if (accountIds.length === 0) return [];
  return orm
    .select()
    .from(accounts)
    .where(and(eq(accounts.orgId, orgId), inArray(accounts.id, accountIds)));
}

/**
 * Locks accounts for the rest of the transaction, in id order as allot_post does (so two callers
 * never wait on each other in a cycle), and returns them as they stand.
 */
export async function lockAccounts(orm: Orm, orgId: bigint, accountIds: bigint[]): Promise<Account[]> {
  if (accountIds.length === 0) return [];
  return orm
    .select()
    .from(accounts)
    .where(and(eq(accounts.orgId, orgId), inArray(accounts.id, accountIds)))
    .orderBy(asc(accounts.id))
    .for('update');
}

export type PostStatus = 'ok' | 'exists' | 'conflict' | 'account_not_found' | 'already_reversed' | 'exceeds_balance';

export interface PostInput {
  orgId: bigint;
  idempotencyKey: string;
  requestHash: string;
  code: TransferCode;
  legs: { debitAccountId: bigint; creditAccountId: bigint; amount: bigint }[];
  actorMemberId: bigint | null;
  platform: string;
  memo: string;
  reversesTransferId: bigint | null;
  /**
   * One entry per leg: when the lot the leg's credit creates expires (omitted or null: never). Dates
   * people type become instants in lib/expiry.models.ts, in the recipient's zone.
   */
  lotExpiresAt?: (Date | null)[];
  /** Allowances only: at the lot's expiry up to this many tokens roll over instead of expiring. */
  rolloverTokens?: bigint | null;
}

export interface PostOutcome {
  status: PostStatus;
  transferIds: bigint[];
  /** With exceeds_balance: the account that would have been overdrawn. */
  accountId: bigint | null;
  createdAt: Date | null;
}

const pgArray = (values: bigint[]) => `{${values.join(',')}}`;

/** One round trip: allot_post locks, checks, updates balances and inserts the transfers. */
export async function postOperation(orm: Orm, input: PostInput): Promise<PostOutcome> {
  const [row] = await queryRows<{
    o_status: PostStatus;
    o_ids: string[] | null;
    o_account: string | null;
    o_created_at: string | null;
  }>(
    orm,
    sql`select * from allot_post(
      ${input.orgId.toString()}::bigint, ${input.idempotencyKey}, ${input.requestHash}, ${input.code},
      ${pgArray(input.legs.map((leg) => leg.debitAccountId))}::bigint[],
      ${pgArray(input.legs.map((leg) => leg.creditAccountId))}::bigint[],
      ${pgArray(input.legs.map((leg) => leg.amount))}::bigint[],
      ${input.actorMemberId?.toString() ?? null}::bigint, ${input.platform}, ${input.memo},
      ${input.reversesTransferId?.toString() ?? null}::bigint)`,
  );
  if (!row) throw new Error('allot_post returned no row');
  return {
    status: row.o_status,
    transferIds: (row.o_ids ?? []).map((id) => BigInt(id)),
    accountId: row.o_account === null ? null : BigInt(row.o_account),
    createdAt: row.o_created_at === null ? null : new Date(row.o_created_at),
  };
}

export async function findTransfer(orm: Orm, orgId: bigint, transferId: bigint): Promise<Transfer | undefined> {
  const [row] = await orm
    .select()
    .from(transfers)
    .where(and(eq(transfers.orgId, orgId), eq(transfers.id, transferId)))
    .limit(1);
  return row;
}

export async function findTransfersByIds(orm: Orm, orgId: bigint, transferIds: bigint[]): Promise<Transfer[]> {
  if (transferIds.length === 0) return [];
  return orm
    .select()
    .from(transfers)
    .where(and(eq(transfers.orgId, orgId), inArray(transfers.id, transferIds)))
    .orderBy(transfers.leg);
}

/**
 * Newest first; with accountIds, only transfers touching those accounts; with codes, only those codes;
 * with from/to, only those created in [from, to); `beforeId` pages back.
 */
export async function listTransfers(
  orm: Orm,
  input: {
    orgId: bigint;
    accountIds?: bigint[];
    codes?: readonly TransferCode[];
    from?: Date;
    to?: Date;
    beforeId?: bigint;
    limit: number;
  },
): Promise<Transfer[]> {
  const limit = Math.max(1, Math.min(input.limit, transfersPageMax));
  const conditions = [eq(transfers.orgId, input.orgId)];
  if (input.accountIds) {
    if (input.accountIds.length === 0) return [];
    conditions.push(
      or(inArray(transfers.debitAccountId, input.accountIds), inArray(transfers.creditAccountId, input.accountIds))!,
    );
  }
  if (input.codes) {
    if (input.codes.length === 0) return [];
    // One code reads the partial index transfers_org_code_idx (codes other than usage).
    conditions.push(
      input.codes.length === 1 ? eq(transfers.code, input.codes[0]!) : inArray(transfers.code, [...input.codes]),
    );
  }
  if (input.from || input.to) {
    const bounds = await transferIdBounds(orm, { orgId: input.orgId, from: input.from, to: input.to });
    if (bounds === 'none') return [];
    if (bounds.lowest !== undefined) conditions.push(gte(transfers.id, bounds.lowest));
    if (bounds.highest !== undefined) conditions.push(lte(transfers.id, bounds.highest));
  }
  if (input.from) conditions.push(gte(transfers.createdAt, input.from));
  if (input.to) conditions.push(lt(transfers.createdAt, input.to));
  if (input.beforeId !== undefined) conditions.push(lt(transfers.id, input.beforeId));
  return orm
    .select()
    .from(transfers)
    .where(and(...conditions))
    .orderBy(desc(transfers.id))
    .limit(limit);
}

/**
 * Oldest first, for exports: transfers created in [from, to), after `afterId`, one bounded page at a
 * time. Paging by id keeps each page an index range scan however large the export.
 */
export async function listTransfersForExport(
  orm: Orm,
  input: { orgId: bigint; from?: Date; to?: Date; afterId?: bigint; limit: number },
): Promise<Transfer[]> {
  const limit = Math.max(1, Math.min(input.limit, transfersPageMax));
  const conditions = [eq(transfers.orgId, input.orgId)];
  if (input.from) conditions.push(gte(transfers.createdAt, input.from));
  if (input.to) conditions.push(lt(transfers.createdAt, input.to));
  if (input.afterId !== undefined) conditions.push(gt(transfers.id, input.afterId));
  return orm
    .select()
    .from(transfers)
    .where(and(...conditions))
    .orderBy(asc(transfers.id))
    .limit(limit);
}

export interface InvariantViolation {
  orgId: bigint;
  invariant:
    | 'balances_sum_to_zero'
    | 'balance_equals_transfers'
    | 'no_overdraft'
    | 'transfer_accounts_exist'
    | ReservationInvariant;
  accountId: bigint | null;
  detail: string;
}

/**
 * Recomputes the ledger's invariants from the transfers: each organisation's balances sum to zero,
 * each stored balance equals its transfers, and no account is below zero outside the rules
 * (treasury always may be; a wallet only by metered usage, which the overdraft check allows).
 */
export async function findInvariantViolations(orm: Orm, orgId?: bigint): Promise<InvariantViolation[]> {
  const orgFilter = orgId === undefined ? sql`true` : sql`a.org_id = ${orgId.toString()}::bigint`;
  const sumRows = await queryRows<{ org_id: string; total: string }>(
    orm,
    sql`select a.org_id, sum(a.balance)::text as total from accounts a where ${orgFilter}
        group by a.org_id having sum(a.balance) <> 0`,
  );
  const driftRows = await queryRows<{ org_id: string; id: string; balance: string; computed: string }>(
    orm,
    sql`with moves as (
          select org_id, credit_account_id as account_id, amount as delta from transfers
          union all
          select org_id, debit_account_id, -amount from transfers
        ), computed as (
          select org_id, account_id, sum(delta) as total from moves group by org_id, account_id
        )
        select a.org_id, a.id, a.balance::text as balance, coalesce(c.total, 0)::text as computed
          from accounts a left join computed c on c.org_id = a.org_id and c.account_id = a.id
         where ${orgFilter} and a.balance <> coalesce(c.total, 0)`,
  );
  const overdraftRows = await queryRows<{ org_id: string; id: string; kind: string; balance: string }>(
    orm,
    sql`select a.org_id, a.id, a.kind, a.balance::text as balance from accounts a
         where ${orgFilter} and a.balance < 0 and a.kind not in ('treasury', 'wallet')`,
  );
  // Transfers have no foreign keys to accounts (see ledger.tables.ts): each one's accounts must be
  // accounts of its own organisation.
  const transferOrgFilter = orgId === undefined ? sql`true` : sql`t.org_id = ${orgId.toString()}::bigint`;
  const strayRows = await queryRows<{ org_id: string; id: string; debit: string; credit: string }>(
    orm,
    sql`select t.org_id, t.id, t.debit_account_id as debit, t.credit_account_id as credit from transfers t
         where ${transferOrgFilter}
           and (not exists (select 1 from accounts a where a.org_id = t.org_id and a.id = t.debit_account_id)
             or not exists (select 1 from accounts a where a.org_id = t.org_id and a.id = t.credit_account_id))`,
  );
  return [
    ...strayRows.map((row) => ({
      orgId: BigInt(row.org_id),
      invariant: 'transfer_accounts_exist' as const,
      accountId: null,
      detail: `transfer ${row.id} moves from account ${row.debit} to ${row.credit}, not both accounts of this organisation`,
    })),
    ...sumRows.map((row) => ({
      orgId: BigInt(row.org_id),
      invariant: 'balances_sum_to_zero' as const,
      accountId: null,
      detail: `balances sum to ${row.total}`,
    })),
    ...driftRows.map((row) => ({
      orgId: BigInt(row.org_id),
      invariant: 'balance_equals_transfers' as const,
      accountId: BigInt(row.id),
      detail: `stored balance ${row.balance}, transfers say ${row.computed}`,
    })),
    ...overdraftRows.map((row) => ({
      orgId: BigInt(row.org_id),
      invariant: 'no_overdraft' as const,
      accountId: BigInt(row.id),
      detail: `${row.kind} account at ${row.balance}`,
    })),
    ...(await findReservationViolations(orm, orgId)),
  ];
}

/** The invariants of reservations (pending transfers; migrations/0005_reservations.sql). */
export type ReservationInvariant =
  | 'held_equals_open_reservations'
  | 'available_below_zero_only_by_usage'
  | 'settled_has_usage_event';

/**
 * The reservation invariants, recomputed: each account's `held` is the sum of its open reservations; a
 * wallet whose available is below zero got there by usage (its last debit is a `usage` transfer: every
 * other debit and every reservation is refused when it would take the available below zero); each
 * settled reservation names a stored usage event. That a reservation resolves at most once is held by
 * the trigger of migration 0005 (no resolved row can change again).
 */
async function findReservationViolations(orm: Orm, orgId?: bigint): Promise<InvariantViolation[]> {
  const orgFilter = orgId === undefined ? sql`true` : sql`a.org_id = ${orgId.toString()}::bigint`;
  const heldRows = await queryRows<{ org_id: string; id: string; held: string; open: string }>(
    orm,
    sql`select a.org_id, a.id, a.held::text, coalesce(r.total, 0)::text as open
          from accounts a
          left join (select org_id, account_id, sum(amount) as total from reservations where state = 'held'
                      group by org_id, account_id) r on r.org_id = a.org_id and r.account_id = a.id
         where ${orgFilter} and a.held <> coalesce(r.total, 0)`,
  );
  const availableRows = await queryRows<{ org_id: string; id: string; available: string; code: string | null }>(
    orm,
    sql`select a.org_id, a.id, (a.balance - a.held)::text as available, last.code
          from accounts a
          left join lateral (select t.code from transfers t
                              where t.org_id = a.org_id and t.debit_account_id = a.id
                              order by t.id desc limit 1) last on true
         where ${orgFilter} and a.kind = 'wallet' and a.balance - a.held < 0
           and last.code is distinct from 'usage'`,
  );
  const settledRows = await queryRows<{ org_id: string; id: string; event: string | null }>(
    orm,
    sql`select r.org_id, r.id, r.usage_event_id as event from reservations r
         where ${orgId === undefined ? sql`true` : sql`r.org_id = ${orgId.toString()}::bigint`}
           and r.state = 'settled'
           and not exists (select 1 from usage_events e where e.org_id = r.org_id and e.event_id = r.usage_event_id)`,
  );
  return [
    ...heldRows.map((row) => ({
      orgId: BigInt(row.org_id),
      invariant: 'held_equals_open_reservations' as const,
      accountId: BigInt(row.id),
      detail: `held ${row.held}, open reservations say ${row.open}`,
    })),
    ...availableRows.map((row) => ({
      orgId: BigInt(row.org_id),
      invariant: 'available_below_zero_only_by_usage' as const,
      accountId: BigInt(row.id),
      detail: `available ${row.available}, last debit ${row.code ?? 'none'}`,
    })),
    ...settledRows.map((row) => ({
      orgId: BigInt(row.org_id),
      invariant: 'settled_has_usage_event' as const,
      accountId: null,
      detail: `reservation ${row.id} is settled by usage event ${row.event ?? '(none)'}, which is not stored`,
    })),
  ];
}
