import type { ViewSubmitAction } from '@slack/bolt';
import { actionIds } from '../../chat/replies.models';
import { denyModalCallbackId, denyReasonActionId, denyReasonBlockId } from '../blockkit.presenter';
import type { DenyOrigin, RegisterListeners, SlackActor } from './slack-listener.kit';

/** Modal submissions: the deny form, which carries where it was opened from in its private_metadata. */
export const registerViewListeners: RegisterListeners = (app, kit) => {
  const { track } = kit;
  app.view<ViewSubmitAction>(denyModalCallbackId, async ({ ack, body, view, client }) => {
    await ack();
    await track(async () => {
      let origin: DenyOrigin;
      try {
        origin = JSON.parse(view.private_metadata) as DenyOrigin;
      } catch {
        return;
      }
      const who: SlackActor = {
        teamId: origin.teamId || body.team?.id || body.user.team_id || '',
        enterpriseId: origin.enterpriseId,
        orgInstall: Boolean(origin.orgInstall),
        userId: body.user.id,
      };
      const note = view.state.values[denyReasonBlockId]?.[denyReasonActionId]?.value ?? undefined;
      const clicked = { actionId: actionIds.deny, value: origin.requestId, note: note ?? undefined };
      const request = kit.forRequest(client);
      const done = await request.click(who, { ...clicked, deliveryKey: `slack:view:${body.trigger_id}` });
      if (!done) return;
      const fromHome = Boolean(origin.fromHome);
      await request.answerClick({ ...done, who, fromHome, channel: origin.channel });
    });
  });
};
