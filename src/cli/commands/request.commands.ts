import type { Command } from 'commander';
import { listPendingRequests, requestsListMax } from '../../approvals/approvals.repository';
import { decideRequest } from '../../approvals/approvals.usecases';
import * as membersRepo from '../../members/members.repository';
import { CliError, requireExpiry, requireOrganisation, withCliContext } from '../cli-context';
import { failureLine, formatTable, formatTokens } from '../cli-format';
import { parsePositiveInteger } from './transfers.commands';

// `allot request …`: top-up requests waiting for a decision, decided by an operator as an admin would
// (paid from the treasury). Chat is not told from here: the requester hears nothing, and the approval
// messages in Slack or Teams show the outcome when someone clicks them.

const decisionFailures = {
  request_not_found: 'No such request. See: allot request list <org>',
  not_the_approver: 'That request is not for you to decide.',
  request_already_decided: 'That request was already decided.',
  request_expired: 'That request expired before anyone decided; the requester can ask again.',
  requester_inactive: 'The requester is deactivated and cannot receive tokens; deny the request instead.',
  exceeds_budget: 'The budget cannot pay for that request; nothing was moved.',
} as const;

/** Registers `allot request` and its commands, in the order `allot request --help` lists them. */
export function registerRequestCommands(program: Command): void {
  const request = program.command('request').description('Top-up requests waiting for a decision');
  registerRequestList(request);
  registerRequestDecision(request, 'approve');
  registerRequestDecision(request, 'deny');
}

/** `allot request list <org>`: the pending requests, oldest first. */
function registerRequestList(request: Command): void {
  request
    .command('list <org>')
    .description('List the requests waiting for a decision, oldest first')
    .action(async (slug: string) =>
      withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const pending = await listPendingRequests(ctx.db.orm, { orgId: organisation.id, limit: requestsListMax });
        const people = new Map(
          (
            await membersRepo.findMembers(
              ctx.db.orm,
              organisation.id,
              pending.map((r) => r.requesterId),
            )
          ).map((m) => [m.id, m]),
        );
        console.log(
          pending.length === 0
            ? `No requests are waiting in ${organisation.slug}.`
            : formatTable(
                ['ID', 'REQUESTER', 'TOKENS', 'REASON'],
                pending.map((r) => [
                  r.id.toString(),
                  people.get(r.requesterId)?.displayName ?? `#${r.requesterId}`,
                  formatTokens(r.amount),
                  r.reason,
                ]),
              ),
        );
      }),
    );
}

/** `allot request approve|deny <org> <request-id>`: decide a request as an admin would. */
function registerRequestDecision(request: Command, decision: 'approve' | 'deny'): void {
  const command = request
    .command(`${decision} <org> <request-id>`)
    .description(
      decision === 'approve'
        ? 'Approve a request from the treasury (with --expires, when the tokens expire)'
        : 'Deny a request',
    );
  if (decision === 'approve') {
    command.option(
      '--expires <when>',
      'when the approved tokens expire: a date (2026-12-31), a number of days (90d) or never (default: the organisation’s)',
    );
  } else {
    command.option('--reason <reason>', 'why, shown with the request');
  }
  command.action(async (slug: string, idText: string, options: { expires?: string; reason?: string }) => {
    const requestId = parsePositiveInteger(idText, 'The request id', '12');
    const expiry = requireExpiry(options.expires);
    await withCliContext(async (ctx) => {
      const organisation = await requireOrganisation(ctx, slug);
      const decided = await decideRequest(ctx, {
        orgId: organisation.id,
        actor: { operator: true },
        requestId,
        decision,
        note: options.reason,
        expiry,
      });
      if (!decided.ok) {
        const { failure } = decided;
        throw new CliError(
          failure === 'expiry_past' || failure === 'expiry_too_far'
            ? failureLine(failure, decided.detail)
            : decisionFailures[failure],
        );
      }
      const { request: done, expiry: resolved } = decided.value;
      console.log(
        decision === 'approve'
          ? `Approved request ${done.id}: ${formatTokens(done.amount)} tokens from the treasury` +
              `${resolved?.validUntil ? `, valid until ${resolved.validUntil}` : ''}. ` +
              'The requester is not told from the CLI.'
          : `Denied request ${done.id}. The requester is not told from the CLI.`,
      );
    });
  });
}
