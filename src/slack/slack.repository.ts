import { and, eq, inArray } from 'drizzle-orm';
import type { Orm } from '../db/client';
import { memberIdentities } from '../members/members.tables';

/** The Slack user ids of members (for real mentions in what the bot posts); bounded by the input. */
export async function findSlackUserIds(orm: Orm, orgId: bigint, memberIds: bigint[]): Promise<Map<bigint, string>> {
  if (memberIds.length === 0) return new Map();
  const rows = await orm
    .select({ memberId: memberIdentities.memberId, externalId: memberIdentities.externalId })
    .from(memberIdentities)
    .where(
      and(
        eq(memberIdentities.orgId, orgId),
        eq(memberIdentities.platform, 'slack'),
        inArray(memberIdentities.memberId, memberIds.slice(0, 200)),
      ),
    )
    .limit(400);
  return new Map(rows.map((row) => [row.memberId, row.externalId]));
}
