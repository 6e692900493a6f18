import { findOrganisationByWorkspace } from '../../members/members.repository';
import { refreshMemberFromPlatform } from '../../members/members.usecases';
import { profileOfSlackUser, type SlackUser } from '../slack-user.models';
import type { RegisterListeners, SlackActor } from './slack-listener.kit';

/** The Events API envelope fields the listeners read (Bolt passes it as `body`). */
interface EventEnvelope {
  team_id: string;
  event_id: string;
  enterprise_id?: string;
  authorizations?: { enterprise_id?: string | null; team_id?: string | null; is_enterprise_install?: boolean }[];
}

/**
 * Events: the Home tab opened (published again, once per event id since Slack retries deliveries it
 * thinks failed), and a changed user (deactivated, a bot, an admin, a new profile).
 */
export const registerEventListeners: RegisterListeners = (app, kit) => {
  const { deps, track } = kit;
  app.event('app_home_opened', async ({ event, body, client }) => {
    if (event.tab !== 'home') return;
    const envelope = body as unknown as EventEnvelope;
    await track(async () => {
      const auth = envelope.authorizations?.[0];
      const who: SlackActor = {
        teamId: envelope.team_id,
        enterpriseId: auth?.enterprise_id ?? envelope.enterprise_id,
        orgInstall: Boolean(auth?.is_enterprise_install),
        userId: event.user,
      };
      const request = kit.forRequest(client);
      const { org, member } = await request.actorOf(who);
      // Slack retries an event it thinks failed (x-slack-retry-num); the event id makes that a no-op.
      if (!(await kit.firstDelivery(org.id, `slack:event:${envelope.event_id}`))) return;
      await request.publishHome(org.id, member.id, event.user);
    });
  });

  app.event('user_change', async ({ event, body }) => {
    const envelope = body as unknown as EventEnvelope;
    const user = event.user as unknown as SlackUser;
    await track(async () => {
      const auth = envelope.authorizations?.[0];
      const workspace = auth?.is_enterprise_install && auth.enterprise_id ? auth.enterprise_id : envelope.team_id;
      const org = await findOrganisationByWorkspace(deps.ctx.db.orm, 'slack', workspace);
      if (!org || !user?.id) return;
      await refreshMemberFromPlatform(deps.ctx, {
        orgId: org.id,
        platform: 'slack',
        externalId: user.id,
        profile: profileOfSlackUser(user, user.id),
      });
    });
  });
};
