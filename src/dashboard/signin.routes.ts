import type { Router } from 'express';
import { hashSecretToken, secretsEqual, signInLinkValidityMs } from '../sessions/sessions.models';
import { endSession, inspectSignInLink, redeemSignInLink } from '../sessions/sessions.usecases';
import { type Dashboard, requireFormOfSession, requireSession, sendPage, viewerOf } from './dashboard.http';
import { cookieOptions, readCookie, type SignInRateLimit, sameOrigin, signInLimiter } from './security';
import { confirmSignInPage, type SignInProblem, signInProblemPage, tooManyAttemptsPage } from './views/signin.view';

// Sign-in and sign-out. A link `/dashboard/signin/<token>` is opened (from Slack, Teams or the CLI):
// the token moves at once from the URL into a short-lived cookie scoped to /dashboard/signin, and the
// browser is redirected to /dashboard/signin, so the token stays in no address bar, history entry or
// Referer after that first redirect. That page posts a form (at once, by signin.js; or by its button),
// and the POST redeems the link — once — for a session cookie. Link previews and scanners that only
// GET a link therefore never use it up. All three are rate-limited per address.

/** The form field of the sign-in page: derived from the link's token, so only a page that read the cookie has it. */
function signInFormToken(linkToken: string): string {
  return hashSecretToken(`signin-form:${linkToken}`);
}

const statusOf: Record<SignInProblem, number> = {
  none: 200,
  expired: 200,
  signed_out: 200,
  link_used: 410,
  link_expired: 410,
  link_invalid: 404,
  member_inactive: 403,
};

function problemOf(text: unknown): SignInProblem {
  return text === 'expired' || text === 'signed_out' ? text : 'none';
}

/** Mounts the sign-in routes on the dashboard's router (relative to /dashboard). */
export function mountSignIn(router: Router, dashboard: Dashboard, limit: SignInRateLimit): void {
  const { ctx } = dashboard.deps;
  const pending = dashboard.cookies.pendingSignIn;
  const pendingOptions = (maxAgeMs?: number) => cookieOptions(dashboard.secure, '/dashboard/signin', maxAgeMs);
  const showProblem = (res: Parameters<typeof sendPage>[0], problem: SignInProblem) =>
    sendPage(res, statusOf[problem], signInProblemPage(problem));
  const limiter = signInLimiter(limit, (_req, res) => sendPage(res, 429, tooManyAttemptsPage()));

  router.get('/signin/:token', limiter, async (req, res) => {
    const token = String(req.params.token);
    const seen = await inspectSignInLink(ctx, token);
    if (!seen.ok) return showProblem(res, seen.failure);
    const leftMs = Math.min(signInLinkValidityMs, seen.value.link.expiresAt.getTime() - ctx.clock.now().getTime());
    res.cookie(pending, token, pendingOptions(Math.max(1_000, leftMs)));
    res.redirect(303, '/dashboard/signin');
  });

  router.get('/signin', async (req, res) => {
    const token = readCookie(req, pending);
    if (!token) return showProblem(res, problemOf(req.query.ended));
    const seen = await inspectSignInLink(ctx, token);
    if (!seen.ok) {
      res.clearCookie(pending, pendingOptions());
      return showProblem(res, seen.failure);
    }
    sendPage(
      res,
      200,
      confirmSignInPage({
        memberName: seen.value.member.displayName,
        organisation: seen.value.organisation.name,
        formToken: signInFormToken(token),
      }),
    );
  });

  router.post('/signin', limiter, async (req, res) => {
    const token = readCookie(req, pending);
    const form = (req.body as Record<string, unknown> | undefined)?._csrf;
    const fromPage = typeof form === 'string' && token !== undefined && secretsEqual(form, signInFormToken(token));
    if (!token || !fromPage || !sameOrigin(req, dashboard.origin)) {
      return sendPage(res, 403, signInProblemPage('none'));
    }
    const started = await redeemSignInLink(ctx, { token });
    res.clearCookie(pending, pendingOptions());
    if (!started.ok) return showProblem(res, started.failure);
    const { session, sessionToken } = started.value;
    res.cookie(
      dashboard.cookies.session,
      sessionToken,
      cookieOptions(dashboard.secure, '/', session.expiresAt.getTime() - session.createdAt.getTime()),
    );
    res.redirect(303, '/dashboard/me');
  });

  router.post('/signout', requireSession(dashboard), requireFormOfSession(dashboard), async (_req, res) => {
    await endSession(ctx, { session: viewerOf(res).session });
    res.clearCookie(dashboard.cookies.session, cookieOptions(dashboard.secure));
    res.redirect(303, '/dashboard/signin?ended=signed_out');
  });
}
