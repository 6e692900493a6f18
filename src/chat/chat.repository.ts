import { and, eq } from 'drizzle-orm';
import type { Orm } from '../db/client';
import { inboundDeliveries } from './chat.tables';

/** Records a delivery by its source key; false when it was recorded before (a redelivery). */
export async function recordInboundDelivery(orm: Orm, orgId: bigint, sourceKey: string): Promise<boolean> {
  const rows = await orm
    .insert(inboundDeliveries)
    .values({ orgId, sourceKey: sourceKey.slice(0, 255) })
    .onConflictDoNothing()
    .returning({ sourceKey: inboundDeliveries.sourceKey });
  return rows.length > 0;
}

/** True when a delivery with this source key was recorded for the organisation. */
export async function hasInboundDelivery(orm: Orm, orgId: bigint, sourceKey: string): Promise<boolean> {
  const rows = await orm
    .select({ sourceKey: inboundDeliveries.sourceKey })
    .from(inboundDeliveries)
    .where(and(eq(inboundDeliveries.orgId, orgId), eq(inboundDeliveries.sourceKey, sourceKey.slice(0, 255))))
    .limit(1);
  return rows.length > 0;
}
