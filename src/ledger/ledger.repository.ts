import { and, asc, desc, eq, gt, gte, inArray, lt, lte, or, sql } from 'drizzle-orm';
import { type Orm, queryRows } from '../db/client';
import { type AccountKind, accounts, type TransferCode, transfers, usageStripes } from './ledger.tables';
import { transferIdBounds } from './transfer-listing.repository';

export type Account = typeof accounts.$inferSelect;
export type Transfer = typeof transfers.$inferSelect;

/** Bound on transfers listed or exported in one page. */
export const transfersPageMax = 1_000;

/** An organisation's own accounts: the treasury, the usage account's stripes (0 first), `expired`. */
export async function insertOrganisationAccounts(orm: Orm, orgId: bigint): Promise<void> {
  await orm
    .insert(accounts)
    .values([
      { orgId, kind: 'treasury' },
      { orgId, kind: 'usage' },
      { orgId, kind: 'expired' },
      ...Array.from({ length: usageStripes - 1 }, (_, index) => ({ orgId, kind: 'usage' as const, stripe: index + 1 })),
    ]);
}

/**
 * The usage account's stripe that usage of account `accountId` (a wallet) credits, among stripes
 * already read (`id`, `stripe`): stripe `accountId mod usageStripes`, or the lowest (stripe 0) when the
 * organisation has fewer; undefined when there are none. The one rule in TypeScript; the SQL that
 * picks a stripe itself (allot_settle_reservation, migrations/0012_usage_stripes.sql) follows it.
 */
export function pickUsageStripe<T extends { stripe: number }>(stripes: readonly T[], accountId: bigint): T | undefined {
  const wanted = Number(accountId % BigInt(usageStripes));
  let lowest: T | undefined;
  for (const candidate of stripes) {
    if (candidate.stripe === wanted) return candidate;
    if (lowest === undefined || candidate.stripe < lowest.stripe) lowest = candidate;
  }
  return lowest;
}

/** The organisation's usage account stripes (at most `usageStripes` rows). */
export async function findUsageStripes(orm: Orm, orgId: bigint): Promise<Account[]> {
  return orm
    .select()
    .from(accounts)
    .where(and(eq(accounts.orgId, orgId), eq(accounts.kind, 'usage'), sql`${accounts.memberId} IS NULL`));
}

/** The stripe of the organisation's usage account that usage of `accountId` credits (pickUsageStripe). */
export async function findUsageAccountFor(orm: Orm, orgId: bigint, accountId: bigint): Promise<Account | undefined> {
  return pickUsageStripe(await findUsageStripes(orm, orgId), accountId);
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
        eq(accounts.stripe, 0),
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

export type PostStatus =
  | 'ok'
  | 'exists'
  | 'conflict'
  | 'account_not_found'
  | 'already_reversed'
  | 'exceeds_balance'
  /** A reversal of a credit whose lot is all spent or expired: nothing is left to take back. */
  | 'nothing_left';

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
   * Per leg, when the lot its credit makes in a wallet or budget expires (an instant: a date people
   * typed is the end of that day in the recipient's zone); absent or null: never.
   */
  lotExpiresAt?: (Date | null)[];
  /** An allowance's lot: how many of its remains roll over at its expiry instead of expiring. */
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
const pgTimestamps = (values: (Date | null)[]) =>
  `{${values.map((value) => (value ? `"${value.toISOString()}"` : 'NULL')).join(',')}}`;

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
      ${input.reversesTransferId?.toString() ?? null}::bigint,
      ${input.lotExpiresAt ? pgTimestamps(input.lotExpiresAt) : null}::timestamptz[],
      ${input.rolloverTokens?.toString() ?? null}::bigint)`,
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
