import type { Command } from 'commander';
import { operatorActor } from '../../lib/context';
import { describeDefaultExpiry, parseDurationDays } from '../../lib/expiry.models';
import * as membersRepo from '../../members/members.repository';
import { createOrganisation, linkWorkspace, setDefaultExpiry } from '../../members/organisations.usecases';
import { CliError, requireOrganisation, withCliContext } from '../cli-context';
import { failureLine, formatTable } from '../cli-format';

// `allot org …`: organisations, each with its own treasury, members and ledger.

/** Registers `allot org` and its commands, in the order `allot org --help` lists them. */
export function registerOrgCommands(program: Command): void {
  const org = program.command('org').description('Organisations: each has its own treasury, members and ledger');
  registerOrgCreate(org);
  registerOrgList(org);
  registerOrgLink(org);
  registerOrgSet(org);
}

/** `allot org create <slug>`: an organisation with its treasury, usage and expired accounts. */
function registerOrgCreate(org: Command): void {
  org
    .command('create')
    .description('Create an organisation with its treasury, usage and expired accounts')
    .argument('<slug>', 'short name typed in every other command, e.g. acme')
    .option('--name <name>', 'display name (default: the slug)')
    .option('--time-zone <zone>', 'IANA time zone for periods and resets', 'UTC')
    .action(async (slug: string, options: { name?: string; timeZone: string }) => {
      await withCliContext(async (ctx) => {
        const created = await createOrganisation(ctx, {
          slug,
          name: options.name,
          timeZone: options.timeZone,
          actor: operatorActor,
        });
        if (!created.ok) throw new CliError(failureLine(created.failure));
        const { value } = created;
        console.log(`Created organisation ${value.slug} ("${value.name}", ${value.timeZone}), id ${value.id}.`);
      });
    });
}

/** `allot org list`: every organisation. */
function registerOrgList(org: Command): void {
  org
    .command('list')
    .description('List organisations')
    .action(async () => {
      await withCliContext(async (ctx) => {
        const rows = await membersRepo.listOrganisations(ctx.db.orm);
        if (rows.length === 0) {
          console.log('No organisations yet. Create one with: allot org create <slug>');
          return;
        }
        console.log(
          formatTable(
            ['ID', 'SLUG', 'NAME', 'TIME ZONE', 'DEFAULT EXPIRY'],
            rows.map((row) => [
              row.id.toString(),
              row.slug,
              row.name,
              row.timeZone,
              describeDefaultExpiry(row.defaultExpiryDays),
            ]),
          ),
        );
      });
    });
}

/** `allot org link <org> <platform> <workspaceId>`: a Slack team or Teams tenant, before its first use. */
function registerOrgLink(org: Command): void {
  org
    .command('link <org> <platform> <workspaceId>')
    .description(
      'Link a Slack team (T…) or enterprise (E…), or a Teams tenant id, to an organisation before its first use, ' +
        'so one person on both platforms has one wallet',
    )
    .action(async (slug: string, platform: string, workspaceId: string) => {
      if (platform !== 'slack' && platform !== 'teams') {
        throw new CliError(
          'The platform is slack or teams, e.g. allot org link acme teams 72f988bf-86f1-41af-91ab-2d7cd011db47',
          2,
        );
      }
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const linked = await linkWorkspace(ctx, {
          orgId: organisation.id,
          platform,
          externalId: workspaceId,
          actor: operatorActor,
        });
        if (!linked.ok) {
          throw new CliError(
            linked.failure === 'workspace_taken'
              ? `That ${platform} workspace already belongs to organisation ${String(linked.detail?.slug)}.`
              : `"${workspaceId}" is not a workspace id: a Slack team id like T0123ABCD, or a Teams tenant id (a GUID).`,
          );
        }
        console.log(
          linked.value.alreadyLinked
            ? `${platform} ${workspaceId} was already linked to ${organisation.slug}.`
            : `Linked ${platform} ${workspaceId} to ${organisation.slug}.`,
        );
      });
    });
}

/**
 * `allot org set <org> default-expiry <90d|none>`: how long the tokens of a grant, a top-up or a budget
 * issue last when the command names no expiry (the end of the local day that many days on, in the
 * recipient's zone); `none`: they never expire. What was granted before keeps its own expiry.
 */
function registerOrgSet(org: Command): void {
  org
    .command('set <org> <setting> <value>')
    .description(
      'Change a setting: default-expiry 90d|none (how long granted, approved and budget tokens last when ' +
        'the command names no expiry)',
    )
    .action(async (slug: string, setting: string, value: string) => {
      if (setting !== 'default-expiry') {
        throw new CliError(
          `There is no setting "${setting.slice(0, 40)}". The one setting is default-expiry, e.g. allot org set ${slug} default-expiry 90d`,
          2,
        );
      }
      const none = ['none', 'never', 'off'].includes(value.trim().toLowerCase());
      const days = none ? undefined : parseDurationDays(value);
      if (days && !days.ok) throw new CliError(`${days.message} Or none, for no default.`);
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const set = await setDefaultExpiry(ctx, {
          orgId: organisation.id,
          actor: operatorActor,
          days: days?.ok ? days.value : null,
        });
        if (!set.ok) throw new CliError(failureLine(set.failure));
        console.log(
          set.value.defaultExpiryDays === null
            ? `Tokens granted in ${organisation.slug} now never expire unless a command says when (--expires).`
            : `Tokens granted, approved or added to budgets in ${organisation.slug} now expire after ` +
                `${describeDefaultExpiry(set.value.defaultExpiryDays)} unless a command says otherwise (--expires).`,
        );
      });
    });
}
