import { parseCookie } from 'cookie';
import type { CookieOptions, NextFunction, Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { isLoopbackAddress } from '../http/loopback.models';
import { secretsEqual } from '../sessions/sessions.models';

// The dashboard's web security in one place (README, "The web dashboard: security model"): response
// headers with a Content-Security-Policy that allows no inline script, the session cookie's flags, the
// check that a state-changing request comes from the dashboard's own pages (Origin, then the session's
// synchronizer token), and the rate limit on sign-in.

/**
 * The Content-Security-Policy of every dashboard response: scripts and styles only from Allot itself (no
 * `unsafe-inline`, no `unsafe-eval`), nothing framed, forms only back to Allot. Chart data travels in
 * `<script type="application/json">` blocks, which are data, not script.
 */
export const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Security headers for every dashboard response; pages are never cached (they show balances). */
export const securityHeaders: RequestHandler = (_req, res, next) => {
  res.set({
    'Content-Security-Policy': contentSecurityPolicy,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    // Not no-referrer: with it Chromium sends `Origin: null` on form posts, and the origin check needs it.
    // same-origin keeps every dashboard address out of Referer headers to other sites.
    'Referrer-Policy': 'same-origin',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  });
  next();
};

export interface CookieNames {
  session: string;
  /** The sign-in link's token while its confirmation page is shown (path /dashboard/signin only). */
  pendingSignIn: string;
}

/**
 * Cookie names: over HTTPS with the `__Host-` prefix, which browsers accept only with Secure, Path=/ and
 * no Domain (RFC 6265bis §4.1.3.2), so no other site or subdomain can set or shadow them.
 */
export function cookieNames(secure: boolean): CookieNames {
  return secure
    ? { session: '__Host-allot_session', pendingSignIn: 'allot_signin' }
    : { session: 'allot_session', pendingSignIn: 'allot_signin' };
}

/** HttpOnly, SameSite=Lax, Secure over HTTPS (issue #15); `path` narrows where the browser sends it. */
export function cookieOptions(secure: boolean, path = '/', maxAgeMs?: number): CookieOptions {
  return { httpOnly: true, sameSite: 'lax', secure, path, ...(maxAgeMs === undefined ? {} : { maxAge: maxAgeMs }) };
}

/** A cookie sent with the request (Express 5 parses none by itself). */
export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  return parseCookie(header)[name];
}

/**
 * True when a state-changing request may have come from the dashboard's own pages: its `Origin` (which
 * browsers send with every POST) is the dashboard's origin, or it has none (then the synchronizer token
 * alone decides), and `Sec-Fetch-Site`, when sent, is not `cross-site`.
 */
export function sameOrigin(req: Request, dashboardOrigin: string): boolean {
  const origin = req.get('origin');
  if (origin !== undefined && origin !== dashboardOrigin) return false;
  return req.get('sec-fetch-site') !== 'cross-site';
}

/** The form's synchronizer token (`_csrf`) against the session's, in constant time. */
export function csrfTokenMatches(req: Request, expected: string): boolean {
  const sent = (req.body as Record<string, unknown> | undefined)?._csrf;
  return typeof sent === 'string' && secretsEqual(sent, expected);
}

/**
 * The address a rate limit counts: the connection's own address, or behind a reverse proxy on this
 * machine (a loopback connection) the last address in X-Forwarded-For, which that proxy appended. The
 * first one is whatever the client wrote, so it is never used.
 */
export function clientAddress(req: Request): string {
  const connected = req.socket.remoteAddress ?? 'unknown';
  const forwarded = req.get('x-forwarded-for');
  if (!forwarded || !isLoopbackAddress(connected)) return connected;
  const hops = forwarded
    .split(',')
    .map((hop) => hop.trim())
    .filter(Boolean);
  return hops[hops.length - 1] ?? connected;
}

/** Sign-in attempts allowed per address and window (express-rate-limit); beyond them, 429. */
export interface SignInRateLimit {
  attempts: number;
  windowMs: number;
}

export const signInRateLimitDefault: SignInRateLimit = { attempts: 30, windowMs: 10 * 60 * 1000 };

/** The limiter of the sign-in routes, answering beyond the limit with `onLimited`. */
export function signInLimiter(
  limit: SignInRateLimit,
  onLimited: (req: Request, res: Response, next: NextFunction) => void,
): RequestHandler {
  return rateLimit({
    windowMs: limit.windowMs,
    limit: limit.attempts,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // IPv6 addresses are counted per /56, the library's default: one host usually holds a whole /64.
    keyGenerator: (req) => ipKeyGenerator(clientAddress(req)),
    handler: onLimited,
    // The key is clientAddress, not req.ip, so the library's checks of `trust proxy` do not apply.
    validate: { trustProxy: false, xForwardedForHeader: false, ip: false },
  });
}
