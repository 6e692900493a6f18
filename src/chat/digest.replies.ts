import type { DigestPostFailure } from '../digest/digest.models';
import { digestPostAttemptsMax } from '../digest/digest.usecases';
import type { ChatMessage } from '../notify/message.models';

/**
 * What the admins read when the weekly digest could not be posted: where it was meant to go (a Slack
 * channel by id, or the Teams conversation) and the command that moves it. Given to the digest as
 * `DigestDeps.failureNotice` by the composition root.
 */
export function digestFailureNotice(failure: DigestPostFailure): ChatMessage {
  const { schedule, detail } = failure;
  const where =
    schedule.platform === 'slack' ? `Slack channel ${schedule.destination.channelId}` : 'the Teams conversation';
  return {
    summary: `The weekly digest could not be posted to ${where}`,
    blocks: [
      { type: 'header', text: 'The weekly digest was not posted' },
      {
        type: 'text',
        lines: [
          [
            `Allot tried ${digestPostAttemptsMax} times to post the digest to ${where} and failed (`,
            { code: detail.slice(0, 200) },
            ').',
          ],
          [
            'Invite the bot to that channel, or choose another with ',
            { code: '/tokens digest #channel "0 9 * * MON" Europe/Berlin' },
            '.',
          ],
        ],
      },
    ],
  };
}
