import type { Orm } from '../db/client';
import type { Clock } from '../lib/clock';
import {
  dayFromToday,
  type ExpiryInput,
  expiryHashPart,
  expiryInstant,
  expiryProblem,
  lastValidDay,
  latestExpiry,
  validUntilLabel,
} from '../lib/expiry.models';
import { fail, ok, type Result } from '../lib/result';
import * as membersRepo from '../members/members.repository';

// The expiry of an operation's lots, decided once for every verb that credits a wallet or a budget (a
// grant, a top-up, a budget issue): as typed, else the organisation's default, else none; each
// recipient's instant in their own zone (the member's, else the organisation's); refused when it is in
// the past or more than five years ahead, before anything is written.

export type ExpiryFailure = 'expiry_past' | 'expiry_too_far';

/** One recipient's lot expiry. */
export interface LotExpiry {
  memberId: bigint;
  /** When the lot expires; null: never. */
  at: Date | null;
  timeZone: string;
}

export interface ResolvedExpiry {
  /** What applies: the typed expiry, else the organisation's default, else `never`. */
  input: ExpiryInput;
  /** True when the organisation's default was applied. */
  fromDefault: boolean;
  /** In the order of the member ids asked for. */
  lots: LotExpiry[];
  /** What enters the operation's body hash (undefined: no expiry, the body hashes as before). */
  hashPart: string | undefined;
  /** `31 Dec 2026` (or two days, `31 Dec 2026 or 1 Jan 2027`, when recipients' zones differ); null: never. */
  validUntil: string | null;
}

/** Most different days listed in `validUntil` (a grant to people in many zones names the first ones). */
const validUntilDaysShown = 3;

/**
 * Resolves the expiry of the lots an operation creates for `memberIds` (the wallets' or budgets'
 * owners, one lot each). Fails with `expiry_past` (detail: the day, and an example a few months on) or
 * `expiry_too_far` (detail: the day, and the latest allowed) for the first recipient it is refused for.
 */
export async function resolveExpiry(
  orm: Orm,
  clock: Clock,
  input: { orgId: bigint; memberIds: bigint[]; expiry?: ExpiryInput },
): Promise<Result<ResolvedExpiry, ExpiryFailure>> {
  const organisation = await membersRepo.findOrganisationById(orm, input.orgId);
  if (!organisation) throw new Error(`organisation ${input.orgId} not found`);
  const fromDefault = input.expiry === undefined && organisation.defaultExpiryDays !== null;
  const expiry: ExpiryInput =
    input.expiry ??
    (organisation.defaultExpiryDays === null
      ? { kind: 'never' }
      : { kind: 'duration', days: organisation.defaultExpiryDays });
  const members = new Map(
    (await membersRepo.findMembers(orm, input.orgId, input.memberIds)).map((member) => [member.id, member]),
  );
  const now = clock.now();
  const lots: LotExpiry[] = [];
  for (const memberId of input.memberIds) {
    const timeZone = members.get(memberId)?.timeZone ?? organisation.timeZone;
    const at = expiryInstant(expiry, { now, timeZone });
    const problem = at === null ? undefined : expiryProblem(at, { now, timeZone });
    if (at !== null && problem === 'expiry_past') {
      return fail('expiry_past', {
        day: lastValidDay(at, timeZone),
        example: dayFromToday({ now, timeZone, days: 90 }),
      });
    }
    if (at !== null && problem === 'expiry_too_far') {
      return fail('expiry_too_far', {
        day: lastValidDay(at, timeZone),
        latest: lastValidDay(latestExpiry({ now, timeZone }), timeZone),
      });
    }
    lots.push({ memberId, at, timeZone });
  }
  const days = [...new Set(lots.flatMap((lot) => (lot.at === null ? [] : [validUntilLabel(lot.at, lot.timeZone)])))];
  return ok({
    input: expiry,
    fromDefault,
    lots,
    hashPart: expiryHashPart(expiry),
    validUntil: days.length === 0 ? null : days.slice(0, validUntilDaysShown).join(' or '),
  });
}

/** The expiry's part of an operation's body, for its hash: nothing when the lots never expire. */
export function expiryBody(resolved: ResolvedExpiry): { expires?: string } {
  return resolved.hashPart === undefined ? {} : { expires: resolved.hashPart };
}
