import { runCommand } from '../../chat/commands.usecases';
import { failureReply } from '../../chat/replies.models';
import { toSlackMessage } from '../blockkit.presenter';
import { slackCommandPlace } from '../slack-places.models';
import { tokenizeSlackText } from '../slack-text.models';
import { commandActor, type RegisterListeners } from './slack-listener.kit';

/**
 * Slash commands: acknowledged at once (Slack's 3-second deadline holds whatever the database is
 * doing), then run and answered privately through response_url.
 */
export const registerCommandListeners: RegisterListeners = (app, kit) => {
  const { deps, track } = kit;
  app.command(/^\/.+/, async ({ ack, command, respond }) => {
    await ack();
    await track(async () => {
      const who = commandActor(command);
      try {
        const { org, member } = await kit.actorOf(who);
        const outcome = await runCommand(deps, {
          platform: 'slack',
          org,
          actor: member,
          command: command.command,
          tokens: tokenizeSlackText(command.text ?? '', who.teamId),
          idempotencyKey: `slack:${who.teamId}:${command.trigger_id}`,
          directory: kit.directory,
          place: slackCommandPlace(command.channel_id),
          // Every reply goes through response_url as an ephemeral message: only the person sees it.
          replyVisibility: 'private',
        });
        await kit.respondSafely(respond, { response_type: 'ephemeral', ...(await kit.present(org.id, outcome.reply)) });
      } catch (error) {
        deps.logger.error({ err: error, command: command.command }, 'Slack command failed');
        const reply = failureReply('internal_error');
        await kit.respondSafely(respond, { response_type: 'ephemeral', ...toSlackMessage(reply, new Map()) });
      }
    });
  });
};
