import type { Ctx } from '../lib/context';
import { withRetries } from '../lib/db-errors';
import { expireLot, findDueLots, type LotExpiry } from './expiry.repository';

/** Most lots one sweep expires; the rest wait for the next sweep. */
export const expiryBatchMax = 500;

/**
 * Expires every due lot (issue 16): what remains of each grant, top-up, budget issue or allowance
 * whose expiry has passed moves to the organisation's `expired` account, each lot in its own short
 * transaction, each token once however many replicas sweep at once (allot_expire_lot locks the
 * accounts and re-reads the lot). Tokens held by calls in flight stay until their reservation
 * resolves. With `orgId`, only that organisation's lots. Returns what was done, in expiry order.
 */
export async function expireDueLots(ctx: Ctx, input: { orgId?: bigint } = {}): Promise<LotExpiry[]> {
  const now = ctx.clock.now();
  const due = await findDueLots(ctx.db.orm, { now, limit: expiryBatchMax, orgId: input.orgId });
  const done: LotExpiry[] = [];
  for (const lot of due) {
    const expiry = await withRetries(() => expireLot(ctx.db.orm, lot, now));
    if (expiry) done.push(expiry);
  }
  return done;
}
