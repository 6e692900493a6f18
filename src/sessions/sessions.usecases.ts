import type { Actor, Ctx } from '../lib/context';
import { withRetries } from '../lib/db-errors';
import { type Failure, fail, ok, type Result } from '../lib/result';
import type { Member, Organisation } from '../members/members.repository';
import * as membersRepo from '../members/members.repository';
import {
  hashSecretToken,
  looksLikeSecretToken,
  newSecretToken,
  sessionLifetimeMs,
  sessionNeedsTouch,
  sessionState,
  signInLinkState,
  signInLinkValidityMs,
  signInUrl,
} from './sessions.models';
import type { DashboardSession, SignInLink } from './sessions.repository';
import * as repo from './sessions.repository';
import type { SignInChannel } from './sessions.tables';

// The verbs of dashboard sign-in: issue a one-time link to a member, look at one, redeem it for a
// session, find the session behind a cookie, end it. Each change writes its audit row in the same
// transaction. Tokens are never stored, only their hashes (sessions.models.ts).

// ---------------------------------------------------------------------------------------------
// links

export type IssueLinkFailure = 'member_not_found' | 'member_inactive' | 'member_is_bot';

export interface IssuedLink {
  /** The link to hand the member: `<DASHBOARD_URL>/dashboard/signin/<token>`. */
  url: string;
  expiresAt: Date;
  member: Member;
}

/**
 * Makes a one-time sign-in link for a member: valid `signInLinkValidityMs` (10 minutes), usable once,
 * bound to that member. `dashboardUrl` is DASHBOARD_URL (the caller refuses when it is unset). The
 * actor is the member themselves (chat) or the operator (CLI); the audit row names them.
 */
export async function issueSignInLink(
  ctx: Ctx,
  input: { orgId: bigint; memberId: bigint; via: SignInChannel; actor: Actor; dashboardUrl: string },
): Promise<Result<IssuedLink, IssueLinkFailure>> {
  const member = await membersRepo.findMember(ctx.db.orm, input.orgId, input.memberId);
  if (!member) return fail('member_not_found');
  if (member.isBot) return fail('member_is_bot');
  if (!member.isActive) return fail('member_inactive');
  const token = newSecretToken();
  const now = ctx.clock.now();
  const expiresAt = new Date(now.getTime() + signInLinkValidityMs);
  await withRetries(() =>
    ctx.db.orm.transaction(async (tx) => {
      const link = await repo.insertSignInLink(tx, {
        orgId: input.orgId,
        tokenHash: hashSecretToken(token),
        memberId: member.id,
        issuedVia: input.via,
        createdAt: now,
        expiresAt,
      });
      await membersRepo.insertActorAudit(tx, {
        orgId: input.orgId,
        actor: input.actor,
        action: 'dashboard.link',
        details: { memberId: member.id, linkId: link.id, via: input.via, expiresAt: expiresAt.toISOString() },
        at: now,
      });
    }),
  );
  return ok({ url: signInUrl(input.dashboardUrl, token), expiresAt, member });
}

export type SignInFailure = 'link_invalid' | 'link_used' | 'link_expired' | 'member_inactive';

export interface SignInLinkView {
  link: SignInLink;
  member: Member;
  organisation: Organisation;
}

/** The link behind a token, if it can still be used, with who it signs in; nothing is changed. */
export async function inspectSignInLink(ctx: Ctx, token: string): Promise<Result<SignInLinkView, SignInFailure>> {
  if (!looksLikeSecretToken(token)) return fail('link_invalid');
  const link = await repo.findSignInLinkByHash(ctx.db.orm, hashSecretToken(token));
  if (!link) return fail('link_invalid');
  const refused = linkRefusal(link, ctx.clock.now());
  if (refused) return refused;
  const member = await membersRepo.findMember(ctx.db.orm, link.orgId, link.memberId);
  const organisation = await membersRepo.findOrganisationById(ctx.db.orm, link.orgId);
  if (!member || !organisation) return fail('link_invalid');
  if (!member.isActive || member.isBot) return fail('member_inactive');
  return ok({ link, member, organisation });
}

function linkRefusal(link: SignInLink, now: Date): Failure<SignInFailure> | undefined {
  const state = signInLinkState(link, now);
  if (state === 'used') return fail('link_used');
  if (state === 'expired') return fail('link_expired');
  return undefined;
}

export interface StartedSession {
  /** The token for the browser's cookie; only its hash is stored. */
  sessionToken: string;
  session: DashboardSession;
  member: Member;
  organisation: Organisation;
}

/**
 * Redeems a link for a new session, once: the link is marked used by a conditional update in the same
 * transaction that creates the session and its audit row, so a link opened twice (two tabs, a retried
 * request) starts one session and the other is told the link was used.
 */
export async function redeemSignInLink(
  ctx: Ctx,
  input: { token: string },
): Promise<Result<StartedSession, SignInFailure>> {
  const seen = await inspectSignInLink(ctx, input.token);
  if (!seen.ok) return seen;
  const { member, organisation } = seen.value;
  const sessionToken = newSecretToken();
  const tokenHash = hashSecretToken(input.token);
  return withRetries(() =>
    ctx.db.orm.transaction(async (tx): Promise<Result<StartedSession, SignInFailure>> => {
      const now = ctx.clock.now();
      const used = await repo.useSignInLink(tx, { tokenHash, now });
      if (!used) {
        const current = await repo.findSignInLinkByHash(tx, tokenHash);
        return (current && linkRefusal(current, now)) ?? fail('link_invalid');
      }
      const session = await repo.insertSession(tx, {
        orgId: used.orgId,
        tokenHash: hashSecretToken(sessionToken),
        memberId: used.memberId,
        csrfToken: newSecretToken(),
        createdAt: now,
        expiresAt: new Date(now.getTime() + sessionLifetimeMs),
      });
      await membersRepo.insertAudit(tx, {
        orgId: used.orgId,
        actorMemberId: used.memberId,
        platform: 'web',
        action: 'dashboard.signin',
        details: { linkId: used.id, sessionId: session.id },
        at: now,
      });
      return ok({ sessionToken, session, member, organisation });
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// sessions

export type SessionFailure = 'session_invalid' | 'session_ended' | 'session_expired' | 'member_inactive';

export interface LiveSession {
  session: DashboardSession;
  /** The member as they are now: their role is read afresh on every request. */
  member: Member;
  organisation: Organisation;
}

/**
 * The live session behind a cookie's token, with its member and organisation. A session left idle for
 * 12 hours, older than its lifetime, or signed out is refused, and so is one whose member was
 * deactivated since. Its last-seen time moves forward at most once a minute.
 */
export async function resolveSession(ctx: Ctx, token: string): Promise<Result<LiveSession, SessionFailure>> {
  if (!looksLikeSecretToken(token)) return fail('session_invalid');
  const session = await repo.findSessionByHash(ctx.db.orm, hashSecretToken(token));
  if (!session) return fail('session_invalid');
  const now = ctx.clock.now();
  const state = sessionState(session, now);
  if (state === 'ended') return fail('session_ended');
  if (state !== 'live') return fail('session_expired');
  const [member, organisation] = await Promise.all([
    membersRepo.findMember(ctx.db.orm, session.orgId, session.memberId),
    membersRepo.findOrganisationById(ctx.db.orm, session.orgId),
  ]);
  if (!member || !organisation) return fail('session_invalid');
  if (!member.isActive || member.isBot) return fail('member_inactive');
  if (sessionNeedsTouch(session, now)) {
    await repo.touchSession(ctx.db.orm, { orgId: session.orgId, sessionId: session.id, now });
  }
  return ok({ session, member, organisation });
}

/** Signs out: ends the session (a second sign-out changes nothing) and writes the audit row. */
export async function endSession(ctx: Ctx, input: { session: DashboardSession }): Promise<void> {
  await withRetries(() =>
    ctx.db.orm.transaction(async (tx) => {
      const now = ctx.clock.now();
      const ended = await repo.endSession(tx, { orgId: input.session.orgId, sessionId: input.session.id, now });
      if (!ended) return;
      await membersRepo.insertAudit(tx, {
        orgId: ended.orgId,
        actorMemberId: ended.memberId,
        platform: 'web',
        action: 'dashboard.signout',
        details: { sessionId: ended.id },
        at: now,
      });
    }),
  );
}

/** How long dead links and sessions are kept before the sweep removes them. */
export const staleRowsKeptMs = 24 * 60 * 60 * 1000;

/** Removes links and sessions dead for over a day (bounded per call; run on a timer by the dashboard module). */
export async function sweepStaleSessions(ctx: Ctx): Promise<{ links: number; sessions: number }> {
  return repo.deleteStale(ctx.db.orm, new Date(ctx.clock.now().getTime() - staleRowsKeptMs));
}
