import type { BlockAction, ButtonAction } from '@slack/bolt';
import { dashboardLinkActionId } from '../../chat/dashboard.replies';
import { dashboardLinkOutcome } from '../../chat/dashboard.usecases';
import { actionIds } from '../../chat/replies.models';
import { denyModal } from '../blockkit.presenter';
import { actionActor, type DenyOrigin, type RegisterListeners } from './slack-listener.kit';

/**
 * The key of one delivery of a click: its trigger id is Slack's own for that click (a second click has
 * another), so a click delivered twice (a Socket Mode envelope sent again, a replayed request) counts once.
 */
function clickDeliveryKey(body: BlockAction): string {
  return `slack:click:${body.trigger_id}`;
}

/**
 * Buttons: Approve, Deny and Cancel under a top-up request (Deny opens a form for the reason first),
 * Confirm or Cancel under a large operation's question, and Open dashboard. Acknowledged first, then run.
 */
export const registerActionListeners: RegisterListeners = (app, kit) => {
  const { deps, track } = kit;
  app.action<BlockAction<ButtonAction>>(
    /^request\.(approve|deny|cancel)$/,
    async ({ ack, body, action, respond, client }) => {
      await ack();
      const request = kit.forRequest(client);
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
        const clicked = { actionId: action.action_id, value: action.value ?? '', deliveryKey: clickDeliveryKey(body) };
        const done = await request.click(who, clicked);
        if (!done) return;
        const isCancel = action.action_id === actionIds.cancel;
        await request.answerClick({ ...done, who, fromHome, channel, respond, isCancel });
      });
    },
  );

  // "Open dashboard" (the App Home, the help reply): a fresh sign-in link, answered privately (an ephemeral
  // reply through response_url, or a direct message from the Home tab).
  app.action<BlockAction<ButtonAction>>(dashboardLinkActionId, async ({ ack, body, respond, client }) => {
    await ack();
    await track(async () => {
      const who = actionActor(body);
      const request = kit.forRequest(client);
      const { org, member } = await request.actorOf(who);
      const outcome = await dashboardLinkOutcome(deps, {
        platform: 'slack',
        org,
        actor: member,
        replyVisibility: 'private',
      });
      const fromHome = body.container?.type === 'view';
      await request.answerClick({
        org,
        member,
        who,
        outcome,
        fromHome: false,
        respond: fromHome ? undefined : respond,
      });
    });
  });

  // A large grant or budget issue asked its issuer to confirm, privately (an ephemeral message under the
  // command): the answer replaces that message, so its buttons go away once either is pressed.
  app.action<BlockAction<ButtonAction>>(
    /^operation\.(confirm|cancel)$/,
    async ({ ack, body, action, respond, client }) => {
      await ack();
      await track(async () => {
        const clicked = { actionId: action.action_id, value: action.value ?? '', deliveryKey: clickDeliveryKey(body) };
        const done = await kit.forRequest(client).click(actionActor(body), clicked);
        if (!done) return;
        const { org, outcome } = done;
        await kit.respondSafely(respond, {
          response_type: 'ephemeral',
          replace_original: outcome.card !== undefined,
          ...(await kit.present(org.id, outcome.card ?? outcome.reply)),
        });
      });
    },
  );
};
