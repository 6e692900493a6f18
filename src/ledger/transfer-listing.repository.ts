import { and, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import type { Orm } from '../db/client';
import { transfers } from './ledger.tables';

// Reads behind the ledger page: a time range of transfers as an id range (so it reads the primary key),
// and which transfers were reversed.

/**
 * Windows probed, widening, to find the id bounds of a time range; the last is unbounded. A transaction
 * stamps its transfers with its start time (`now()`), so ids and times disagree only for transactions
 * open longer than the first window (a day), which Allot never holds.
 */
const idProbeWindowsMs = [86_400_000, 7 * 86_400_000, 35 * 86_400_000, 400 * 86_400_000, undefined] as const;

/**
 * The id range of the transfers created in [from, to): the largest id created before `to` and the
 * smallest created at or after `from`, each found through the BRIN index on created_at in a window
 * next to its bound (widened until found), so a time filter reads an id range of the primary key
 * instead of scanning back from the newest transfer. `none` when nothing lies in the range.
 */
export async function transferIdBounds(
  orm: Orm,
  input: { orgId: bigint; from?: Date; to?: Date },
): Promise<{ lowest?: bigint; highest?: bigint } | 'none'> {
  const probe = async (side: 'lowest' | 'highest', at: Date): Promise<bigint | undefined> => {
    for (const windowMs of idProbeWindowsMs) {
      const edge =
        windowMs === undefined ? undefined : new Date(at.getTime() + (side === 'lowest' ? windowMs : -windowMs));
      const conditions = [
        eq(transfers.orgId, input.orgId),
        side === 'lowest' ? gte(transfers.createdAt, at) : lt(transfers.createdAt, at),
      ];
      if (edge) conditions.push(side === 'lowest' ? lt(transfers.createdAt, edge) : gte(transfers.createdAt, edge));
      // `+ 0`: min/max of the column itself would be planned as a walk of the primary key from one end,
      // filtering on time, which reads every transfer on the other side of the window.
      const [row] = await orm
        .select({
          id:
            side === 'lowest'
              ? sql<string | null>`min(${transfers.id} + 0)::text`
              : sql<string | null>`max(${transfers.id} + 0)::text`,
        })
        .from(transfers)
        .where(and(...conditions));
      if (row?.id) return BigInt(row.id);
    }
    return undefined;
  };
  const lowest = input.from ? await probe('lowest', input.from) : undefined;
  if (input.from && lowest === undefined) return 'none';
  const highest = input.to ? await probe('highest', input.to) : undefined;
  if (input.to && highest === undefined) return 'none';
  return { lowest, highest };
}

/** Of these transfers, the ones already reversed, each with the id of its reversal. */
export async function findReversalsOf(orm: Orm, orgId: bigint, transferIds: bigint[]): Promise<Map<bigint, bigint>> {
  if (transferIds.length === 0) return new Map();
  const rows = await orm
    .select({ id: transfers.id, reverses: transfers.reversesTransferId })
    .from(transfers)
    .where(and(eq(transfers.orgId, orgId), inArray(transfers.reversesTransferId, transferIds)));
  return new Map(rows.map((row) => [row.reverses!, row.id]));
}
