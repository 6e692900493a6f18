import type { Command } from 'commander';
import { listEnabledSchedules } from '../../digest/digest.repository';
import { buildDigestMessage } from '../../digest/digest.usecases';
import { disableDigest, setDigestSchedule } from '../../digest/digest-schedules.usecases';
import { operatorActor } from '../../lib/context';
import type { MessageLocation } from '../../notify/notifier';
import { CliError, requireOrganisation, withCliContext } from '../cli-context';
import { formatChatMessage, formatTable } from '../cli-format';

// `allot digest …`: where and when the weekly digest is posted, and what it would say now.

/** "slack:C0123" or "teams:<conversation id>". */
function destinationOf(text: string): MessageLocation {
  const match = /^(slack|teams):(.+)$/.exec(text.trim());
  if (!match)
    throw new CliError(`Name the destination as slack:<channel id> or teams:<conversation id>, e.g. slack:C0123ABCD.`);
  return match[1] === 'slack'
    ? { platform: 'slack', ref: { channelId: match[2]! } }
    : { platform: 'teams', ref: { conversationId: match[2]! } };
}

/** Registers `allot digest` and its commands, in the order `allot digest --help` lists them. */
export function registerDigestCommands(program: Command): void {
  const digest = program.command('digest').description('Weekly digest schedules');
  registerDigestSet(digest);
  registerDigestOff(digest);
  registerDigestPreview(digest);
  registerDigestList(digest);
}

/** `allot digest set`: post the digest to slack:<channel id> or teams:<conversation id>, e.g. "0 9 * * MON" Europe/Berlin. */
function registerDigestSet(digest: Command): void {
  digest
    .command('set <org> <destination> <cron> <timeZone>')
    .description('Post the digest to slack:<channel id> or teams:<conversation id>, e.g. "0 9 * * MON" Europe/Berlin')
    .action(async (slug: string, destinationText: string, cron: string, timeZone: string) =>
      withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const result = await setDigestSchedule(ctx, {
          orgId: organisation.id,
          actor: operatorActor,
          destination: destinationOf(destinationText),
          cron,
          timeZone,
        });
        if (!result.ok) {
          const why =
            result.failure === 'cron_invalid'
              ? `"${cron}" is not a cron expression (${(result.detail?.problems as string[] | undefined)?.join('; ')}). Try "0 9 * * MON".`
              : result.failure === 'time_zone_invalid'
                ? `"${timeZone}" is not an IANA time zone. Try Europe/Berlin or America/New_York.`
                : result.failure;
          throw new CliError(`Digest not scheduled: ${why}`);
        }
        console.log(`Digest scheduled for ${destinationText}: "${result.value.cron}" in ${result.value.timeZone}.`);
      }),
    );
}

/** `allot digest off`: stop the digest for one destination, or all. */
function registerDigestOff(digest: Command): void {
  digest
    .command('off <org> [destination]')
    .description('Stop the digest for one destination, or all')
    .action(async (slug: string, destinationText: string | undefined) =>
      withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const result = await disableDigest(ctx, {
          orgId: organisation.id,
          actor: operatorActor,
          destination: destinationText ? destinationOf(destinationText) : null,
        });
        if (!result.ok) throw new CliError('No digest is scheduled there.');
        console.log(`Digest off for ${result.value.disabled} destination${result.value.disabled === 1 ? '' : 's'}.`);
      }),
    );
}

/** `allot digest preview`: print the digest as it would be posted now (the last complete week). */
function registerDigestPreview(digest: Command): void {
  digest
    .command('preview <org>')
    .description('Print the digest as it would be posted now (the last complete week)')
    .action(async (slug: string) =>
      withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const message = await buildDigestMessage(ctx, { orgId: organisation.id, at: ctx.clock.now() });
        console.log(formatChatMessage(message));
      }),
    );
}

/** `allot digest list`: list digest schedules. */
function registerDigestList(digest: Command): void {
  digest
    .command('list <org>')
    .description('List digest schedules')
    .action(async (slug: string) =>
      withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const schedules = await listEnabledSchedules(ctx.db.orm, organisation.id);
        console.log(
          formatTable(
            ['destination', 'cron', 'time zone', 'failures in a row'],
            schedules.map((schedule) => [
              schedule.destinationKey,
              schedule.cron,
              schedule.timeZone,
              String(schedule.failuresInRow),
            ]),
          ),
        );
      }),
    );
}
