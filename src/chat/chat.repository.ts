import { and, eq, like, lt } from 'drizzle-orm';
import type { Orm } from '../db/client';
import { idempotencyKeyLengthMax } from '../ledger/ledger.models';
import { inboundDeliveries } from './chat.tables';

// The one store of redelivered platform requests (Slack event ids, Teams activity keys, the answers to
// large operations' questions): inbound_deliveries. Source keys are at most 255 characters.

/**
 * Records a delivery by its source key; false when it was recorded before (a redelivery). `at` is
 * when it arrived (the clock's time; the database's own time when absent).
 */
export async function recordInboundDelivery(
  orm: Orm,
  orgId: bigint,
  idempotencyKey: string,
  at?: Date,
): Promise<boolean> {
  const rows = await orm
    .insert(inboundDeliveries)
    .values({
      orgId,
      idempotencyKey: idempotencyKey.slice(0, idempotencyKeyLengthMax),
      ...(at ? { receivedAt: at } : {}),
    })
    .onConflictDoNothing()
    .returning({ idempotencyKey: inboundDeliveries.idempotencyKey });
  return rows.length > 0;
}

/** True when a delivery with this source key was recorded for the organisation. */
export async function hasInboundDelivery(orm: Orm, orgId: bigint, idempotencyKey: string): Promise<boolean> {
  const rows = await orm
    .select({ idempotencyKey: inboundDeliveries.idempotencyKey })
    .from(inboundDeliveries)
    .where(
      and(
        eq(inboundDeliveries.orgId, orgId),
        eq(inboundDeliveries.idempotencyKey, idempotencyKey.slice(0, idempotencyKeyLengthMax)),
      ),
    )
    .limit(1);
  return rows.length > 0;
}

/** Forgets a delivery whose handling failed before any effect, so the platform's redelivery can try again. */
export async function releaseInboundDelivery(orm: Orm, orgId: bigint, idempotencyKey: string): Promise<void> {
  await orm
    .delete(inboundDeliveries)
    .where(
      and(
        eq(inboundDeliveries.orgId, orgId),
        eq(inboundDeliveries.idempotencyKey, idempotencyKey.slice(0, idempotencyKeyLengthMax)),
      ),
    );
}

/**
 * Forgets deliveries whose source key starts with `prefix` (e.g. `teams:`) received before `before`;
 * returns how many. Only a platform whose redeliveries stop after minutes should be pruned this way.
 */
export async function pruneInboundDeliveries(orm: Orm, input: { prefix: string; before: Date }): Promise<number> {
  const pattern = `${input.prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const rows = await orm
    .delete(inboundDeliveries)
    .where(and(like(inboundDeliveries.idempotencyKey, pattern), lt(inboundDeliveries.receivedAt, input.before)))
    .returning({ idempotencyKey: inboundDeliveries.idempotencyKey });
  return rows.length;
}
