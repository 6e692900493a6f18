import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

// The rules of dashboard sign-in, pure apart from drawing random tokens: how long a link and a session
// live, what a token looks like, and what state a link or session is in at a given time.

/** A sign-in link is valid this long after it is made (issue #15: 10 minutes). */
export const signInLinkValidityMs = 10 * 60 * 1000;
/** A session ends after this long without a request (issue #15: 12 hours). */
export const sessionIdleMs = 12 * 60 * 60 * 1000;
/** A session ends this long after sign-in however busy it is: a stolen cookie cannot live for ever. */
export const sessionLifetimeMs = 7 * 24 * 60 * 60 * 1000;
/** A session's last-seen time is written at most this often (a write per page view would be waste). */
export const sessionTouchIntervalMs = 60 * 1000;
/** Where sign-in links point, under the dashboard's origin. */
export const signInPathPrefix = '/dashboard/signin/';

const tokenBytes = 32;
/** 32 random bytes in base64url: 43 characters of A–Z, a–z, 0–9, `-` and `_`. */
const tokenPattern = /^[A-Za-z0-9_-]{43}$/;

/** A new secret token (256 random bits, base64url) for a link, a session or a form. */
export function newSecretToken(): string {
  return randomBytes(tokenBytes).toString('base64url');
}

/** What is stored in place of a token: its hex SHA-256. */
export function hashSecretToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** True for text shaped like a token of newSecretToken (checked before any database lookup). */
export function looksLikeSecretToken(text: string): boolean {
  return tokenPattern.test(text);
}

/** Compares two secrets in constant time (a different length is a mismatch, decided at once). */
export function secretsEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The link a member opens: `<DASHBOARD_URL>/dashboard/signin/<token>`. */
export function signInUrl(dashboardUrl: string, token: string): string {
  return `${new URL(dashboardUrl).origin}${signInPathPrefix}${token}`;
}

export type SignInLinkState = 'usable' | 'used' | 'expired';

/** A link is usable until it is used or its time is up, whichever comes first. */
export function signInLinkState(link: { usedAt: Date | null; expiresAt: Date }, now: Date): SignInLinkState {
  if (link.usedAt !== null) return 'used';
  return link.expiresAt.getTime() <= now.getTime() ? 'expired' : 'usable';
}

export type SessionState = 'live' | 'ended' | 'idle' | 'expired';

/** A session lives until it is ended, left idle for `sessionIdleMs`, or reaches its `expiresAt`. */
export function sessionState(
  session: { endedAt: Date | null; lastSeenAt: Date; expiresAt: Date },
  now: Date,
): SessionState {
  if (session.endedAt !== null) return 'ended';
  if (session.expiresAt.getTime() <= now.getTime()) return 'expired';
  return session.lastSeenAt.getTime() + sessionIdleMs <= now.getTime() ? 'idle' : 'live';
}

/** True when a live session's last-seen time is old enough to be written again. */
export function sessionNeedsTouch(session: { lastSeenAt: Date }, now: Date): boolean {
  return now.getTime() - session.lastSeenAt.getTime() >= sessionTouchIntervalMs;
}
