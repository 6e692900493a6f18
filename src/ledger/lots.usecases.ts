import type { Ctx } from '../lib/context';
import { endOfLocalDay, lastValidDay } from '../lib/expiry.models';
import * as membersRepo from '../members/members.repository';
import * as ledgerRepo from './ledger.repository';
import * as lotsRepo from './lots.repository';

// What people are shown about their lots: the next tokens to expire ("100 tokens expire on 31 Dec 2026"
// on /balance, the Home tab, `allot balance`) and the lots expiring soon (the dashboard's Me page), each
// day in the member's own zone (else the organisation's).

/** The next tokens to expire in one account: all its lots expiring on the soonest local day. */
export interface NextExpiry {
  tokens: bigint;
  /** `YYYY-MM-DD`: the last day they are valid on, in the member's zone. */
  day: string;
  /** When the first of them expires. */
  at: Date;
}

/** A member's zone: their own, else their organisation's. */
export async function memberTimeZone(ctx: Ctx, orgId: bigint, memberId: bigint): Promise<string> {
  const member = await membersRepo.findMember(ctx.db.orm, orgId, memberId);
  if (member?.timeZone) return member.timeZone;
  return (await membersRepo.findOrganisationById(ctx.db.orm, orgId))?.timeZone ?? 'UTC';
}

/**
 * For each account, the tokens of its lots that expire on the soonest local day (in `timeZone`) that
 * any of them expires, after now. Two reads: the soonest expiry per account, then the sum up to the end
 * of that local day.
 */
export async function nextExpiries(
  ctx: Ctx,
  input: { orgId: bigint; accountIds: bigint[]; timeZone: string },
): Promise<Map<bigint, NextExpiry>> {
  const after = ctx.clock.now();
  const firsts = await lotsRepo.firstExpiries(ctx.db.orm, { orgId: input.orgId, accountIds: input.accountIds, after });
  const windows = [...firsts].map(([accountId, at]) => {
    const day = lastValidDay(at, input.timeZone);
    const [year, month, date] = day.split('-').map(Number) as [number, number, number];
    return { accountId, at, day, until: endOfLocalDay(input.timeZone, { year, month, day: date }) };
  });
  const sums = await lotsRepo.expiringTokens(ctx.db.orm, { orgId: input.orgId, windows, after });
  const next = new Map<bigint, NextExpiry>();
  for (const window of windows) {
    const tokens = sums.get(window.accountId) ?? 0n;
    if (tokens > 0n) next.set(window.accountId, { tokens, day: window.day, at: window.at });
  }
  return next;
}

/** The next tokens to expire in a member's wallet and in their budget, days in their zone; absent: none. */
export async function memberNextExpiries(
  ctx: Ctx,
  input: { orgId: bigint; memberId: bigint },
): Promise<{ wallet?: NextExpiry; budget?: NextExpiry }> {
  const accounts = await ledgerRepo.findMemberAccounts(ctx.db.orm, input.orgId, [input.memberId]);
  const wallet = accounts.find((account) => account.kind === 'wallet');
  const budget = accounts.find((account) => account.kind === 'budget');
  const timeZone = await memberTimeZone(ctx, input.orgId, input.memberId);
  const next = await nextExpiries(ctx, {
    orgId: input.orgId,
    accountIds: accounts.map((account) => account.id),
    timeZone,
  });
  return {
    ...(wallet && next.has(wallet.id) ? { wallet: next.get(wallet.id)! } : {}),
    ...(budget && next.has(budget.id) ? { budget: next.get(budget.id)! } : {}),
  };
}

/** The lots of a member's wallet with tokens to expire, soonest first (at most `limit`), and the member's zone. */
export async function expiringWalletLots(
  ctx: Ctx,
  input: { orgId: bigint; memberId: bigint; limit: number },
): Promise<{ lots: lotsRepo.ExpiringLot[]; timeZone: string }> {
  const wallet = await ledgerRepo.findAccount(ctx.db.orm, input.orgId, 'wallet', input.memberId);
  const timeZone = await memberTimeZone(ctx, input.orgId, input.memberId);
  if (!wallet) return { lots: [], timeZone };
  const lots = await lotsRepo.listExpiringLots(ctx.db.orm, {
    orgId: input.orgId,
    accountId: wallet.id,
    after: ctx.clock.now(),
    limit: input.limit,
  });
  return { lots, timeZone };
}
