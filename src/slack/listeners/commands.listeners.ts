import { createHash } from 'node:crypto';
import { runCommand } from '../../chat/commands.usecases';
import { failureReply } from '../../chat/replies.models';
import { toSlackMessage } from '../blockkit.presenter';
import { slackCommandPlace } from '../slack-places.models';
import { tokenizeSlackText } from '../slack-text.models';
import { commandActor, type RegisterListeners } from './slack-listener.kit';

/**
 * The key of one delivery of a slash command. Slack sends a command once, but a Socket Mode envelope
 * whose acknowledgement was lost is sent again on the next connection, and a signed HTTP request can
 * be replayed within Bolt's 5 minutes: the same trigger id and response_url are then answered once.
 * (A command retyped by its author has another trigger id.)
 */
export function commandDeliveryKey(command: { team_id: string; trigger_id: string; response_url: string }): string {
  const responseUrl = createHash('sha256').update(command.response_url).digest('hex').slice(0, 16);
  return `slack:command:${command.team_id}:${command.trigger_id}:${responseUrl}`;
}

/**
 * Slash commands: acknowledged at once (Slack's 3-second deadline holds whatever the database is
 * doing), then run and answered privately through response_url.
 */
export const registerCommandListeners: RegisterListeners = (app, kit) => {
  const { deps, track } = kit;
  app.command(/^\/.+/, async ({ ack, command, respond, client }) => {
    await ack();
    await track(async () => {
      const who = commandActor(command);
      const request = kit.forRequest(client);
      try {
        const { org, member } = await request.actorOf(who);
        if (!(await kit.firstDelivery(org.id, commandDeliveryKey(command)))) return;
        const outcome = await runCommand(deps, {
          platform: 'slack',
          org,
          actor: member,
          command: command.command,
          tokens: tokenizeSlackText(command.text ?? '', who.teamId),
          idempotencyKey: `slack:${who.teamId}:${command.trigger_id}`,
          directory: request.directory,
          place: slackCommandPlace(command.channel_id, who.teamId),
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
