import type { Command } from 'commander';
import { operatorActor } from '../lib/context';
import * as membersRepo from '../members/members.repository';
import { type MemberRole, memberRoles } from '../members/members.tables';
import { addMember, setManager, setRole } from '../members/members.usecases';
import { CliError, requireMember, requireOrganisation, withCliContext } from './cli-context';
import { describeMember, failureLine, formatTable } from './cli-format';

function requireRole(text: string): MemberRole {
  const role = text.trim().toLowerCase();
  if (!(memberRoles as readonly string[]).includes(role)) {
    throw new CliError(`"${text}" is not a role. Type one of: ${memberRoles.join(', ')}.`);
  }
  return role as MemberRole;
}

export function registerMemberCommands(program: Command): void {
  const member = program.command('member').description('Members: people with a wallet, and a budget if they manage');

  member
    .command('add')
    .description('Add a member with a wallet and a budget')
    .argument('<org>', 'organisation slug')
    .argument('<name>', 'display name, e.g. "Ana Lima"')
    .option('--email <email>', 'links the person across Slack and Teams, and names them in the CLI')
    .option('--role <role>', `one of ${memberRoles.join(', ')}`, 'member')
    .option('--manager <member>', 'their manager, by email or id')
    .option('--time-zone <zone>', 'IANA time zone (default: the organisation’s)')
    .action(
      async (
        slug: string,
        name: string,
        options: { email?: string; role: string; manager?: string; timeZone?: string },
      ) => {
        const role = requireRole(options.role);
        await withCliContext(async (ctx) => {
          const organisation = await requireOrganisation(ctx, slug);
          const manager = options.manager ? await requireMember(ctx, organisation, options.manager) : undefined;
          const added = await addMember(ctx, {
            orgId: organisation.id,
            displayName: name,
            email: options.email ?? null,
            timeZone: options.timeZone ?? null,
            role,
            managerId: manager?.id ?? null,
            actor: operatorActor,
          });
          if (!added.ok) throw new CliError(failureLine(added.failure));
          console.log(`Added ${describeMember(added.value)} to ${organisation.slug} as ${added.value.role}.`);
        });
      },
    );

  member
    .command('list')
    .description(`List members (at most ${membersRepo.membersListMax})`)
    .argument('<org>', 'organisation slug')
    .action(async (slug: string) => {
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const rows = await membersRepo.listMembers(ctx.db.orm, organisation.id);
        if (rows.length === 0) {
          console.log(
            `No members in ${organisation.slug} yet. Add one with: allot member add ${organisation.slug} <name>`,
          );
          return;
        }
        console.log(
          formatTable(
            ['ID', 'NAME', 'EMAIL', 'ROLE', 'MANAGER', 'STATE'],
            rows.map((row) => [
              row.id.toString(),
              row.displayName,
              row.email ?? '',
              row.role,
              row.managerId?.toString() ?? '',
              row.isBot ? 'bot' : row.isActive ? 'active' : 'inactive',
            ]),
          ),
        );
      });
    });

  program
    .command('role')
    .description('Set a member’s role')
    .argument('<org>', 'organisation slug')
    .argument('<member>', 'email or id')
    .argument('<role>', memberRoles.join(' | '))
    .action(async (slug: string, reference: string, roleText: string) => {
      const role = requireRole(roleText);
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const target = await requireMember(ctx, organisation, reference);
        const updated = await setRole(ctx, { orgId: organisation.id, actor: operatorActor, memberId: target.id, role });
        if (!updated.ok) throw new CliError(failureLine(updated.failure));
        console.log(`${describeMember(updated.value)} is now ${updated.value.role}.`);
      });
    });

  program
    .command('manager')
    .description('Set whom a member reports to (`none` removes the manager)')
    .argument('<org>', 'organisation slug')
    .argument('<member>', 'email or id')
    .argument('<manager>', 'email or id of the manager, or none')
    .action(async (slug: string, reference: string, managerReference: string) => {
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const target = await requireMember(ctx, organisation, reference);
        const manager =
          managerReference.trim().toLowerCase() === 'none'
            ? null
            : await requireMember(ctx, organisation, managerReference);
        const updated = await setManager(ctx, {
          orgId: organisation.id,
          actor: operatorActor,
          memberId: target.id,
          managerId: manager?.id ?? null,
        });
        if (!updated.ok) throw new CliError(failureLine(updated.failure));
        console.log(
          manager
            ? `${describeMember(updated.value)} now reports to ${describeMember(manager)}.`
            : `${describeMember(updated.value)} now has no manager.`,
        );
      });
    });
}
