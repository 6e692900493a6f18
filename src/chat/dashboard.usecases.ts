import type { Member, Organisation } from '../members/members.repository';
import { signInLinkValidityMs } from '../sessions/sessions.models';
import { issueSignInLink } from '../sessions/sessions.usecases';
import type { ChatDeps, ChatOutcome, ReplyVisibility } from './chat.models';
import { dashboardLinkMessage, dashboardLinkSentPrivately, dashboardLinkUndelivered } from './dashboard.replies';
import { deliver, refusal } from './outcomes.usecases';

/**
 * `/tokens dashboard` and the "Open dashboard" button: a fresh one-time sign-in link for the person
 * acting. A link signs in as them, so it is shown only where the reply is private (`replyVisibility`);
 * elsewhere (a Teams channel, a click whose answer others could see) it goes by direct message and the
 * reply says so. Without DASHBOARD_URL the dashboard is off and the reply says what to set.
 */
export async function dashboardLinkOutcome(
  deps: ChatDeps,
  input: { platform: 'slack' | 'teams'; org: Organisation; actor: Member; replyVisibility?: ReplyVisibility },
): Promise<ChatOutcome> {
  const dashboardUrl = deps.config.DASHBOARD_URL;
  if (!dashboardUrl) return refusal('dashboard_off');
  const issued = await issueSignInLink(deps.ctx, {
    orgId: input.org.id,
    memberId: input.actor.id,
    via: input.platform,
    actor: { kind: 'member', memberId: input.actor.id, platform: input.platform },
    dashboardUrl,
  });
  if (!issued.ok) return refusal(issued.failure === 'member_not_found' ? 'member_not_found' : 'member_inactive');
  const link = dashboardLinkMessage({ url: issued.value.url, validMinutes: signInLinkValidityMs / 60_000 });
  if (input.replyVisibility === 'private') return { ok: true, reply: link, deliveries: [] };
  const delivery = await deliver(deps, input.platform, input.org.id, input.actor.id, 'dashboard_link', link);
  return {
    ok: delivery.outcome.ok,
    reply: delivery.outcome.ok ? dashboardLinkSentPrivately() : dashboardLinkUndelivered(),
    deliveries: [delivery],
  };
}
