import type { BlockAction, ButtonAction } from '@slack/bolt';
import { dashboardLinkActionId } from '../../chat/dashboard.replies';
import { dashboardLinkOutcome } from '../../chat/dashboard.usecases';
import { actionIds } from '../../chat/replies.models';
import { denyModal } from '../blockkit.presenter';
import { actionActor, type DenyOrigin, type RegisterListeners } from './slack-listener.kit';

/**
 * Buttons: Approve, Deny and Cancel under a top-up request (Deny opens a form for the reason first),
 * Confirm or Cancel under a large operation's question, and Open dashboard. Acknowledged first, then run.
 */
export const registerActionListeners: RegisterListeners = (app, kit) => {
  const { deps, client, track } = kit;
  app.action<BlockAction<ButtonAction>>(/^request\.(approve|deny|cancel)$/, async ({ ack, body, action, respond }) => {
    await ack();
    const who = actionActor(body);
    const fromHome = body.container?.type === 'view';
    const channel = body.channel?.id ?? (body.container as { channel_id?: string } | undefined)?.channel_id;
    if (action.action_id === actionIds.deny) {
      // The trigger id lives 3 seconds: open the modal before touching the database.
      const origin: DenyOrigin = {
        requestId: action.value ?? '',
        teamId: who.teamId,
        enterpriseId: who.enterpriseId,
        orgInstall: who.orgInstall,
        channel: fromHome ? undefined : channel,
        fromHome,
      };
      try {
        await client.views.open({
          trigger_id: body.trigger_id,
          view: denyModal({ requestId: origin.requestId, privateMetadata: JSON.stringify(origin) }),
        });
        return;
      } catch (error) {
        deps.logger.warn({ err: error }, 'could not open the deny form; denying without a reason');
      }
    }
    await track(async () => {
      const clicked = { actionId: action.action_id, value: action.value ?? '' };
      const { org, member, outcome } = await kit.click(who, clicked);
      const isCancel = action.action_id === actionIds.cancel;
      await kit.answerClick({ org, member, who, outcome, fromHome, channel, respond, isCancel });
    });
  });

  // "Open dashboard" (the App Home, the help reply): a fresh sign-in link, answered privately (an ephemeral
  // reply through response_url, or a direct message from the Home tab).
  app.action<BlockAction<ButtonAction>>(dashboardLinkActionId, async ({ ack, body, respond }) => {
    await ack();
    await track(async () => {
      const who = actionActor(body);
      const { org, member } = await kit.actorOf(who);
      const outcome = await dashboardLinkOutcome(deps, {
        platform: 'slack',
        org,
        actor: member,
        replyVisibility: 'private',
      });
      const fromHome = body.container?.type === 'view';
      await kit.answerClick({ org, member, who, outcome, fromHome: false, respond: fromHome ? undefined : respond });
    });
  });

  // A large grant or budget issue asked its issuer to confirm, privately (an ephemeral message under the
  // command): the answer replaces that message, so its buttons go away once either is pressed.
  app.action<BlockAction<ButtonAction>>(/^operation\.(confirm|cancel)$/, async ({ ack, body, action, respond }) => {
    await ack();
    await track(async () => {
      const clicked = { actionId: action.action_id, value: action.value ?? '' };
      const { org, outcome } = await kit.click(actionActor(body), clicked);
      await kit.respondSafely(respond, {
        response_type: 'ephemeral',
        replace_original: outcome.card !== undefined,
        ...(await kit.present(org.id, outcome.card ?? outcome.reply)),
      });
    });
  });
};
