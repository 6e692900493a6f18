import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { VNode } from 'preact';
import type { AppDeps } from '../app/module';
import type { Actor } from '../lib/context';
import type { Member, Organisation } from '../members/members.repository';
import { isActiveAdmin, mayViewTeam } from '../members/roles.models';
import { type ChatMessage, plainText } from '../notify/message.models';
import type { DashboardSession } from '../sessions/sessions.repository';
import { resolveSession } from '../sessions/sessions.usecases';
import { usageFailureReplies } from '../usage/usage.replies';
import { type CookieNames, cookieOptions, csrfTokenMatches, readCookie, sameOrigin } from './security';
import type { NoticeInput } from './views/components';
import type { FrameViewer } from './views/layout';
import { documentHtml } from './views/layout';
import { messagePage } from './views/message.view';

// What every dashboard route shares: the dashboard's settings, the person signed in (read afresh from
// the session on every request, role included), page rendering, and the checks in front of every
// request that changes something.

/** The dashboard's settings, fixed at start from DASHBOARD_URL. */
export interface Dashboard {
  deps: AppDeps;
  /** DASHBOARD_URL's origin: links are built on it, and state-changing requests must come from it. */
  origin: string;
  /** True over HTTPS: cookies are Secure and `__Host-` prefixed. */
  secure: boolean;
  cookies: CookieNames;
}

/** The person signed in, as every page sees them. */
export interface Viewer {
  session: DashboardSession;
  member: Member;
  organisation: Organisation;
  /** The session's synchronizer token, put in every form. */
  csrfToken: string;
  /** roles.models isActiveAdmin: the Organisation pages. */
  isAdmin: boolean;
  /** roles.models mayViewTeam: the My team page. */
  seesTeam: boolean;
}

/** The person signed in as the verbs take an actor: a member acting from the dashboard (platform `web`). */
export function webActor(res: Response): Extract<Actor, { kind: 'member' }> {
  return { kind: 'member', memberId: viewerOf(res).member.id, platform: 'web' };
}

/** A refusal of a usage verb (prices, weights, keys) in the words chat uses for it. */
export function usageRefusal(failure: string): NoticeInput {
  return { kind: 'problem', lines: [usageFailureReplies[failure] ?? 'That was refused, and nothing was changed.'] };
}

/** The viewer of a request that went through `requireSession`. */
export function viewerOf(res: Response): Viewer {
  const viewer = res.locals.viewer as Viewer | undefined;
  if (!viewer) throw new Error('viewerOf: the route is not behind requireSession');
  return viewer;
}

export function frameOf(viewer: Viewer): FrameViewer {
  return {
    name: viewer.member.displayName,
    organisation: viewer.organisation.name,
    csrfToken: viewer.csrfToken,
    seesTeam: viewer.seesTeam,
    isAdmin: viewer.isAdmin,
  };
}

/** Sends a page as a whole HTML document. */
export function sendPage(res: Response, status: number, page: VNode): void {
  res.status(status).type('html').send(documentHtml(page));
}

/** Where a browser without a live session is sent: the sign-in page, which says how to get a link. */
export const signInPage = '/dashboard/signin';

/**
 * Finds the live session behind the cookie (sessions.usecases resolveSession: idle and absolute expiry,
 * sign-out, a deactivated member) and puts its viewer in `res.locals`. Without one, a page request is
 * redirected to the sign-in page and any other request is refused with 401; the cookie is cleared.
 */
export function requireSession(dashboard: Dashboard): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const token = readCookie(req, dashboard.cookies.session);
    const resolved = token ? await resolveSession(dashboard.deps.ctx, token) : undefined;
    if (!resolved?.ok) {
      if (token) res.clearCookie(dashboard.cookies.session, cookieOptions(dashboard.secure));
      const reason = resolved && !resolved.ok ? resolved.failure : 'no_session';
      if (req.method === 'GET') {
        res.redirect(303, `${signInPage}?ended=${reason === 'no_session' ? 'none' : 'expired'}`);
        return;
      }
      sendPage(
        res,
        401,
        messagePage({
          title: 'Signed out',
          lines: ['Your session has ended, so nothing was changed. Sign in again with a new link.'],
        }),
      );
      return;
    }
    const { session, member, organisation } = resolved.value;
    res.locals.viewer = {
      session,
      member,
      organisation,
      csrfToken: session.csrfToken,
      isAdmin: isActiveAdmin(member),
      seesTeam: mayViewTeam(member),
    } satisfies Viewer;
    next();
  };
}

/**
 * In front of every request that changes something (every POST): it must come from the dashboard's own
 * origin and carry the session's synchronizer token. Otherwise 403, and nothing is read or written.
 */
export function requireFormOfSession(dashboard: Dashboard): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'POST') return next();
    const viewer = viewerOf(res);
    if (sameOrigin(req, dashboard.origin) && csrfTokenMatches(req, viewer.csrfToken)) return next();
    dashboard.deps.logger.warn({ path: req.path, memberId: viewer.member.id }, 'dashboard form refused: CSRF check');
    sendPage(
      res,
      403,
      messagePage({
        title: 'Not sent from your dashboard',
        viewer: frameOf(viewer),
        lines: [
          'This request did not come from a page of your dashboard (or the page was too old), so nothing was changed.',
          'Reload the page and try again.',
        ],
      }),
    );
  };
}

/** Lets the request through only when `allowed(viewer)`; otherwise 403 with the words of `what`. */
export function requireRole(allowed: (viewer: Viewer) => boolean, what: string): RequestHandler {
  return (_req, res, next) => {
    const viewer = viewerOf(res);
    if (allowed(viewer)) return next();
    sendPage(res, 403, messagePage({ title: 'Not for you', viewer: frameOf(viewer), lines: [what] }));
  };
}

/** The lines of a chat reply, as plain text: the dashboard shows chat's own words for a refusal. */
export function chatMessageLines(message: ChatMessage): string[] {
  const lines: string[] = [];
  for (const block of message.blocks) {
    if (block.type === 'text') lines.push(...block.lines.map(plainText));
    else if (block.type === 'context') lines.push(plainText(block.line));
    else if (block.type === 'fields') lines.push(...block.fields.map((f) => `${f.label}: ${plainText(f.value)}`));
    else if (block.type === 'header') lines.push(block.text);
  }
  return lines.length > 0 ? lines : [message.summary];
}

/** A positive whole number from a path or form (an id); undefined for anything else. */
export function positiveId(text: unknown): bigint | undefined {
  if (typeof text !== 'string' || !/^[0-9]{1,18}$/.test(text)) return undefined;
  const id = BigInt(text);
  return id > 0n ? id : undefined;
}

/** A form field as text (Express parses urlencoded bodies into strings or arrays). */
export function field(req: Request, name: string): string {
  const value = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}
