import * as membersRepo from '../../members/members.repository';
import { setDefaultExpiry } from '../../members/organisations.usecases';
import { defaultExpiryMessage } from '../expiry.replies';
import { refusal } from '../outcomes.usecases';
import type { CommandHandler } from './command.models';

/**
 * `/tokens default-expiry [90d | none]`: shows or sets (admins; setDefaultExpiry refuses anyone else)
 * how long the tokens of a grant, a top-up or a budget issue last when the command names no expiry.
 */
export const tokensDefaultExpiryCommand: CommandHandler<'tokens-default-expiry'> = async (
  { deps, orgId, actor },
  command,
) => {
  if (command.days === undefined) {
    const organisation = await membersRepo.findOrganisationById(deps.ctx.db.orm, orgId);
    return {
      ok: true,
      reply: defaultExpiryMessage({ days: organisation?.defaultExpiryDays ?? null, changed: false }),
      deliveries: [],
    };
  }
  const set = await setDefaultExpiry(deps.ctx, { orgId, actor, days: command.days });
  if (!set.ok) {
    // The grammar reads only 1 to expiryDaysMax days, so the verb's range check cannot fail here.
    return refusal(set.failure === 'not_an_admin' ? 'not_an_admin' : 'internal_error', {
      verb: 'set the default expiry',
    });
  }
  return {
    ok: true,
    reply: defaultExpiryMessage({ days: set.value.defaultExpiryDays, changed: true }),
    deliveries: [],
  };
};
