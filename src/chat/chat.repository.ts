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
