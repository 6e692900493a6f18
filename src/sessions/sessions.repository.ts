import { and, eq, isNull, lt, sql } from 'drizzle-orm';
import type { Orm } from '../db/client';
import { dashboardSessions, type SignInChannel, signInLinks } from './sessions.tables';

export type SignInLink = typeof signInLinks.$inferSelect;
export type DashboardSession = typeof dashboardSessions.$inferSelect;

/** Bound on the rows one sweep of old links and sessions removes. */
export const sweepRowsMax = 5_000;

export async function insertSignInLink(
  orm: Orm,
  input: {
    orgId: bigint;
    tokenHash: string;
    memberId: bigint;
    issuedVia: SignInChannel;
    createdAt: Date;
    expiresAt: Date;
  },
): Promise<SignInLink> {
  const [row] = await orm.insert(signInLinks).values(input).returning();
  return row!;
}

export async function findSignInLinkByHash(orm: Orm, tokenHash: string): Promise<SignInLink | undefined> {
  const [row] = await orm.select().from(signInLinks).where(eq(signInLinks.tokenHash, tokenHash)).limit(1);
  return row;
}

/**
 * Marks a link used if it is still unused and unexpired at `now`; returns it, or nothing when another
 * request used it first or its time was up. The condition is in the UPDATE, so two tabs opening the
 * same link start at most one session.
 */
export async function useSignInLink(
  orm: Orm,
  input: { tokenHash: string; now: Date },
): Promise<SignInLink | undefined> {
  const [row] = await orm
    .update(signInLinks)
    .set({ usedAt: input.now })
    .where(
      and(
        eq(signInLinks.tokenHash, input.tokenHash),
        isNull(signInLinks.usedAt),
        sql`${signInLinks.expiresAt} > ${input.now.toISOString()}::timestamptz`,
      ),
    )
    .returning();
  return row;
}

export async function insertSession(
  orm: Orm,
  input: {
    orgId: bigint;
    tokenHash: string;
    memberId: bigint;
    csrfToken: string;
    createdAt: Date;
    expiresAt: Date;
  },
): Promise<DashboardSession> {
  const [row] = await orm
    .insert(dashboardSessions)
    .values({ ...input, lastSeenAt: input.createdAt })
    .returning();
  return row!;
}

export async function findSessionByHash(orm: Orm, tokenHash: string): Promise<DashboardSession | undefined> {
  const [row] = await orm.select().from(dashboardSessions).where(eq(dashboardSessions.tokenHash, tokenHash)).limit(1);
  return row;
}

/** Moves a live session's last-seen time forward (never back: concurrent requests may touch it together). */
export async function touchSession(orm: Orm, input: { orgId: bigint; sessionId: bigint; now: Date }): Promise<void> {
  await orm
    .update(dashboardSessions)
    .set({ lastSeenAt: input.now })
    .where(
      and(
        eq(dashboardSessions.orgId, input.orgId),
        eq(dashboardSessions.id, input.sessionId),
        isNull(dashboardSessions.endedAt),
        lt(dashboardSessions.lastSeenAt, input.now),
      ),
    );
}

/** Ends a session; returns it, or nothing when it had already ended. */
export async function endSession(
  orm: Orm,
  input: { orgId: bigint; sessionId: bigint; now: Date },
): Promise<DashboardSession | undefined> {
  const [row] = await orm
    .update(dashboardSessions)
    .set({ endedAt: input.now })
    .where(
      and(
        eq(dashboardSessions.orgId, input.orgId),
        eq(dashboardSessions.id, input.sessionId),
        isNull(dashboardSessions.endedAt),
      ),
    )
    .returning();
  return row;
}

/**
 * Removes links and sessions that can no longer be used and are older than `before` (at most
 * `sweepRowsMax` of each), so both tables stay as small as the people signed in.
 */
export async function deleteStale(orm: Orm, before: Date): Promise<{ links: number; sessions: number }> {
  const cutoff = before.toISOString();
  const links = await orm
    .delete(signInLinks)
    .where(
      sql`(${signInLinks.orgId}, ${signInLinks.id}) in (
        select org_id, id from sign_in_links where expires_at < ${cutoff}::timestamptz limit ${sweepRowsMax})`,
    )
    .returning({ id: signInLinks.id });
  const sessions = await orm
    .delete(dashboardSessions)
    .where(
      sql`(${dashboardSessions.orgId}, ${dashboardSessions.id}) in (
        select org_id, id from dashboard_sessions
         where expires_at < ${cutoff}::timestamptz or ended_at < ${cutoff}::timestamptz
            or last_seen_at < ${cutoff}::timestamptz limit ${sweepRowsMax})`,
    )
    .returning({ id: dashboardSessions.id });
  return { links: links.length, sessions: sessions.length };
}
