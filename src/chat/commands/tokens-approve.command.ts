import { approveWithExpiry } from '../actions.usecases';
import type { CommandHandler } from './command.models';

/**
 * `/tokens approve <request> [for 90d | expires 2026-12-31 | expires never]`: approves a top-up request
 * as its Approve button does, with the expiry of the approved tokens typed (the button uses the
 * organisation's default). Only the request's approver or an admin may (decideRequest checks).
 */
export const tokensApproveCommand: CommandHandler<'tokens-approve'> = async ({ deps, input }, command) =>
  approveWithExpiry(
    deps,
    { platform: input.platform, org: input.org, actor: input.actor, replyVisibility: input.replyVisibility },
    command.requestId,
    command.expiry,
  );
