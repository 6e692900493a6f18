import type { Command } from 'commander';
import { operatorActor } from '../../lib/context';
import { signInLinkValidityMs } from '../../sessions/sessions.models';
import { issueSignInLink } from '../../sessions/sessions.usecases';
import { CliError, loadCliConfig, requireMember, requireOrganisation, withCliContext } from '../cli-context';

// `allot dashboard link`: a one-time sign-in link to the web dashboard, for an operator to hand a member.

/** Registers `allot dashboard` and its commands. */
export function registerDashboardCommands(program: Command): void {
  const dashboard = program.command('dashboard').description('the web dashboard (DASHBOARD_URL)');
  dashboard
    .command('link <org> <member>')
    .description(`print a one-time sign-in link for a member (valid ${signInLinkValidityMs / 60_000} minutes, once)`)
    .action(async (slug: string, reference: string) => {
      const dashboardUrl = loadCliConfig().DASHBOARD_URL;
      if (!dashboardUrl) {
        throw new CliError(
          'The dashboard is off: set DASHBOARD_URL to its public address (like https://allot.acme.com), as the server has it.',
        );
      }
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const member = await requireMember(ctx, organisation, reference);
        const issued = await issueSignInLink(ctx, {
          orgId: organisation.id,
          memberId: member.id,
          via: 'cli',
          actor: operatorActor,
          dashboardUrl,
        });
        if (!issued.ok) {
          throw new CliError(
            issued.failure === 'member_is_bot'
              ? 'That member is a bot; bots do not sign in.'
              : 'That member is deactivated; reactivate them first: allot member reactivate <org> <member>',
          );
        }
        console.log(issued.value.url);
        console.error(
          `A sign-in link for ${member.displayName}: it works once, until ${issued.value.expiresAt.toISOString()}, ` +
            'and signs in as them. Hand it over privately.',
        );
      });
    });
}
