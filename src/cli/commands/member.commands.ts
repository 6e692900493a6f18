import type { Command } from 'commander';
import { getBalances } from '../../ledger/ledger.usecases';
import { operatorActor } from '../../lib/context';
import * as membersRepo from '../../members/members.repository';
import { type MemberRole, memberRoles } from '../../members/members.tables';
import {
  addMember,
  renameMember,
  setManager,
  setMemberActive,
  setMemberEmail,
  setRole,
} from '../../members/members.usecases';
import { roleArticle } from '../../members/roles.models';
import { CliError, idempotencyKey, requireMember, requireOrganisation, withCliContext } from '../cli-context';
import { describeMember, failureLine, formatTable, formatTokens } from '../cli-format';

// `allot member …`, and at the top level `allot role` and `allot manager`: people, their roles and whom they
// report to.

/** A role typed by the operator, in any case; anything else ends the command (exit 1) listing the roles. */
function requireRole(text: string): MemberRole {
  const role = text.trim().toLowerCase();
  if (!(memberRoles as readonly string[]).includes(role)) {
    throw new CliError(`"${text}" is not a role. Type one of: ${memberRoles.join(', ')}.`);
  }
  return role as MemberRole;
}

/** Registers `allot member` and its commands, in the order `allot member --help` lists them. */
export function registerMemberCommands(program: Command): void {
  const member = program.command('member').description('Members: people with a wallet, and a budget if they manage');
  registerMemberAdd(member);
  registerMemberList(member);
  registerMemberActive(member, false);
  registerMemberActive(member, true);
  registerMemberRename(member);
  registerMemberEmail(member);
  registerRole(program);
  registerManager(program);
}

/** `allot member add`: add a member with a wallet and a budget. */
function registerMemberAdd(member: Command): void {
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
}

/** `allot member list <org>`: the organisation's members (at most membersListMax). */
function registerMemberList(member: Command): void {
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
              row.isBot ? 'bot' : row.isActive ? 'active' : 'deactivated',
            ]),
          ),
        );
      });
    });
}

/** `allot member deactivate` and `reactivate`: one verb (setMemberActive), each with its own words. */
function registerMemberActive(member: Command, active: boolean): void {
  member
    .command(active ? 'reactivate' : 'deactivate')
    .description(
      active
        ? 'Reactivate a deactivated member'
        : 'Deactivate a member: history kept; they receive nothing and leave leaderboards',
    )
    .argument('<org>', 'organisation slug')
    .argument('<member>', 'email or id')
    .action(async (slug: string, reference: string) => {
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const target = await requireMember(ctx, organisation, reference);
        const done = await setMemberActive(ctx, {
          orgId: organisation.id,
          actor: operatorActor,
          memberId: target.id,
          active,
        });
        if (!done.ok) throw new CliError(failureLine(done.failure));
        const who = describeMember(done.value.member);
        if (active) {
          console.log(done.value.changed ? `Reactivated ${who}.` : `${who} is already active.`);
          return;
        }
        if (!done.value.changed) {
          console.log(`${who} was already deactivated.`);
          return;
        }
        const balances = await getBalances(ctx.db.orm, organisation.id, target.id);
        console.log(
          `Deactivated ${who}: grants, allowances and top-ups to them are refused, and they are off leaderboards. ` +
            `Their wallet (${formatTokens(balances?.wallet ?? 0n)}) and history stay.` +
            (balances && balances.budget > 0n
              ? ` Their budget still holds ${formatTokens(balances.budget)}; to return it: ` +
                `allot role ${organisation.slug} ${target.id} member --return-budget`
              : ''),
        );
      });
    });
}

/** `allot member rename`: change a member’s display name. */
function registerMemberRename(member: Command): void {
  member
    .command('rename')
    .description('Change a member’s display name')
    .argument('<org>', 'organisation slug')
    .argument('<member>', 'email or id')
    .argument('<name>', 'the new name, e.g. "Ana Lima-Silva"')
    .action(async (slug: string, reference: string, name: string) => {
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const target = await requireMember(ctx, organisation, reference);
        const renamed = await renameMember(ctx, {
          orgId: organisation.id,
          actor: operatorActor,
          memberId: target.id,
          displayName: name,
        });
        if (!renamed.ok) throw new CliError(failureLine(renamed.failure));
        console.log(`${describeMember(target)} is now ${describeMember(renamed.value)}.`);
      });
    });
}

/** `allot member email`: set a member’s email (links them across Slack and Teams), or none to remove it. */
function registerMemberEmail(member: Command): void {
  member
    .command('email')
    .description('Set a member’s email (links them across Slack and Teams), or none to remove it')
    .argument('<org>', 'organisation slug')
    .argument('<member>', 'email or id')
    .argument('<email>', 'the new email, or none')
    .action(async (slug: string, reference: string, emailText: string) => {
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const target = await requireMember(ctx, organisation, reference);
        const email = emailText.trim().toLowerCase() === 'none' ? null : emailText;
        const updated = await setMemberEmail(ctx, {
          orgId: organisation.id,
          actor: operatorActor,
          memberId: target.id,
          email,
        });
        if (!updated.ok) throw new CliError(failureLine(updated.failure));
        console.log(
          updated.value.email
            ? `${describeMember(updated.value)}: email set.`
            : `${describeMember(updated.value)}: email removed.`,
        );
      });
    });
}

/** `allot role`: set a member’s role. */
function registerRole(program: Command): void {
  program
    .command('role')
    .description('Set a member’s role')
    .argument('<org>', 'organisation slug')
    .argument('<member>', 'email or id')
    .argument('<role>', memberRoles.join(' | '))
    .option('--return-budget', 'move what is left in their budget back to the treasury, with the role change')
    .option('--key <key>', 'idempotency key for the budget’s return (a retried command moves it once)')
    .action(
      async (slug: string, reference: string, roleText: string, options: { returnBudget?: boolean; key?: string }) => {
        const role = requireRole(roleText);
        const key = options.returnBudget ? idempotencyKey(options.key) : undefined;
        await withCliContext(async (ctx) => {
          const organisation = await requireOrganisation(ctx, slug);
          const target = await requireMember(ctx, organisation, reference);
          const updated = await setRole(ctx, {
            orgId: organisation.id,
            actor: operatorActor,
            memberId: target.id,
            role,
            returnBudget: key ? { idempotencyKey: key } : undefined,
          });
          if (!updated.ok) throw new CliError(failureLine(updated.failure, updated.detail));
          const returned =
            updated.value.returnedBudget > 0n
              ? ` Returned ${formatTokens(updated.value.returnedBudget)} tokens from their budget to the treasury.`
              : '';
          console.log(
            `${describeMember(updated.value)} is now ${roleArticle[updated.value.role]} ${updated.value.role}.${returned}`,
          );
        });
      },
    );
}

/** `allot manager`: set whom a member reports to (`none` removes the manager). */
function registerManager(program: Command): void {
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
