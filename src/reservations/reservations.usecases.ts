import { nextAllowance } from '../allowances/allowances.usecases';
import { hashOperation, isValidAmount } from '../ledger/ledger.models';
import type { Ctx, Platform } from '../lib/context';
import { withRetries } from '../lib/db-errors';
import { periodStart } from '../lib/periods.models';
import { fail, ok, type Result } from '../lib/result';
import * as membersRepo from '../members/members.repository';
import { thresholdsReached } from '../usage/limits.models';
import { usageIdempotencyKey } from '../usage/replay.models';
import {
  type EventParse,
  hashEventContent,
  parseUsageEvent,
  parseUser,
  type UsageEventInput,
  userRefText,
} from '../usage/usage.models';
import * as usageRepo from '../usage/usage.repository';
import type { WalletDebit } from '../usage/usage.usecases';
import { reservationBatcher } from './reservations.batcher';
import { reservationDeadline, reservationKeyLengthMax, settleEventId } from './reservations.models';
import type { SettleEvent, SettleOutcome, StoredReservation } from './reservations.repository';
import * as reservationsRepo from './reservations.repository';
import type { ReservationState } from './reservations.tables';

// Check, reserve, settle: a gateway holds tokens before an AI call and settles them with the call's
// actual usage after it (TigerBeetle's two-phase transfers: pending, then post or void). A hold is
// never a transfer; the settle is an ordinary usage event, stored, priced and debited as /v1/usage does.

export interface Reservation {
  /** The gateway's id for it. */
  idempotencyKey: string;
  state: ReservationState;
  tokens: bigint;
  expiresAt: Date;
}

export interface Reserved {
  reservation: Reservation;
  /** The wallet's available (balance − held) after this hold. */
  available: bigint;
  /** True when this call only repeated an earlier identical one (nothing more was held). */
  replayed: boolean;
}

export type ReserveFailure =
  | 'invalid_id'
  | 'invalid_user'
  | 'amount_invalid'
  | 'invalid_timeout'
  | 'unknown_user'
  | 'member_inactive'
  | 'insufficient_tokens'
  | 'idempotency_conflict';

/**
 * Holds `tokens` on the wallet of `user` (an email, `slack:U…` or `teams:<object id>`) until
 * `timeoutSeconds` (default 300, at most 3,600) have passed, when the wallet's available covers it.
 * Idempotent by `idempotencyKey`: the same key with the same body answers as the first call did, its
 * available included; with another body, `idempotency_conflict`. `insufficient_tokens` carries the
 * available in its detail. Nothing changes on a failure.
 */
export async function reserveTokens(
  ctx: Ctx,
  input: {
    orgId: bigint;
    idempotencyKey: string;
    user: string;
    tokens: bigint;
    model?: string | null;
    timeoutSeconds?: number;
  },
): Promise<Result<Reserved, ReserveFailure>> {
  if (input.idempotencyKey.length === 0 || input.idempotencyKey.length > reservationKeyLengthMax) {
    return fail('invalid_id');
  }
  const userRef = parseUser(input.user);
  if (!userRef) return fail('invalid_user');
  if (!isValidAmount(input.tokens)) return fail('amount_invalid');
  const now = ctx.clock.now();
  const expiresAt = reservationDeadline(now, input.timeoutSeconds);
  if (!expiresAt) return fail('invalid_timeout');
  const model = input.model ?? null;
  const user = {
    kind: userRef.kind,
    value: userRef.kind === 'email' ? userRef.email : userRef.kind === 'slack' ? userRef.userId : userRef.objectId,
    text: userRefText(userRef),
  };
  const requestHash = hashOperation({
    user: user.text,
    tokens: input.tokens,
    model,
    timeoutSeconds: input.timeoutSeconds ?? null,
  });
  const outcome = await reservationBatcher(ctx.db).reserve(input.orgId, {
    idempotencyKey: input.idempotencyKey,
    requestHash,
    user,
    amount: input.tokens,
    model,
    now,
    expiresAt,
  });
  switch (outcome.status) {
    case 'ok':
    case 'exists': {
      const row = outcome.reservation!;
      return ok({
        reservation: {
          idempotencyKey: input.idempotencyKey,
          state: row.state,
          tokens: row.amount,
          expiresAt: row.expiresAt,
        },
        available: outcome.available ?? 0n,
        replayed: outcome.status === 'exists',
      });
    }
    case 'conflict':
      return fail('idempotency_conflict');
    case 'insufficient':
      return fail('insufficient_tokens', { available: outcome.available ?? 0n, memberId: outcome.memberId });
    case 'unknown_user':
      return fail('unknown_user');
    case 'member_inactive':
      return fail('member_inactive');
  }
}

/** The actual usage of the call a reservation was made for, in /v1/usage's field names. */
export interface SettleUsage {
  model?: string;
  input_tokens: unknown;
  output_tokens: unknown;
  category?: unknown;
  /**
   * When the usage happened (ISO 8601); default the reservation's own time, so that a retried settle
   * is the same event and not a conflict.
   */
  time?: unknown;
}

export interface Settled {
  reservation: Reservation;
  /** Tokens debited from the wallet by the settle's usage event (input + output). */
  usedTokens: bigint;
  /** Tokens the reservation held, now freed. */
  heldTokens: bigint;
  /** True when this call only repeated an earlier settle: nothing more was debited. */
  replayed: boolean;
  /** True when the reservation had expired first: the usage is debited all the same (the call happened). */
  afterExpiry: boolean;
  /** The wallet debit this call made (none for a replay), for the low-balance alerts. */
  debit: WalletDebit | null;
  /** The model, when this call stored the usage and the model had no price (the usage cost 0). */
  unpricedModel: string | null;
}

export type SettleFailure =
  | 'reservation_not_found'
  | 'reservation_released'
  | 'usage_rejected'
  | 'idempotency_conflict';

/**
 * Settles a reservation with the call's actual usage, once: the usage is stored, priced and debited as
 * one /v1/usage event with id `reservation:<id>` (so a retried settle is a duplicate, not a second
 * debit), and the hold is freed. Less than held frees the rest; more debits the extra (usage that
 * already happened may take a wallet below zero). A settle after the deadline still debits the usage
 * and says so (`afterExpiry`). A released reservation cannot be settled; a second settle with other
 * figures is `idempotency_conflict`. `usage_rejected` carries the
 * usage event's rejection (`reason`, `message`).
 */
export async function settleReservation(
  ctx: Ctx,
  input: { orgId: bigint; idempotencyKey: string; usage: SettleUsage; platform?: Platform },
): Promise<Result<Settled, SettleFailure>> {
  const now = ctx.clock.now();
  // Filled by the batcher's call of `prepare`, once the reservation is read (in the batch's one read).
  const prepared: { event?: UsageEventInput; rejection?: Extract<EventParse, { ok: false }> } = {};
  const { found, outcome } = await reservationBatcher(ctx.db).settle(input.orgId, {
    idempotencyKey: input.idempotencyKey,
    platform: input.platform ?? 'api',
    now,
    prepare(stored) {
      prepared.event = undefined;
      prepared.rejection = undefined;
      if (!stored || stored.state === 'released') return null;
      const parsed = settleUsageEvent(stored, input.idempotencyKey, input.usage, now);
      if (!parsed.ok) {
        prepared.rejection = parsed;
        return null;
      }
      prepared.event = parsed.event;
      return storedEvent(parsed.event);
    },
  });
  if (!found) return fail('reservation_not_found');
  if (found.state === 'released') return fail('reservation_released');
  if (prepared.rejection) {
    const { reason, message, field } = prepared.rejection;
    return fail('usage_rejected', { reason, message, field });
  }
  const event = prepared.event!;
  switch (outcome!.status) {
    case 'not_found':
      return fail('reservation_not_found');
    case 'released':
      return fail('reservation_released');
    case 'conflict':
      // The settle's event exists with other figures: an earlier settle of this reservation said otherwise.
      return fail('idempotency_conflict');
    case 'ok':
      return ok(settledAnswer(input.idempotencyKey, found, event, outcome!));
  }
}

/** The settle's usage event as /v1/usage would read it: id `reservation:<id>`, the reservation's user, and by default its time and model. */
function settleUsageEvent(
  stored: StoredReservation,
  idempotencyKey: string,
  usage: SettleUsage,
  now: Date,
): EventParse {
  const raw: Record<string, unknown> = {
    id: settleEventId(idempotencyKey),
    time: usage.time ?? stored.createdAt.toISOString(),
    user: stored.userRef,
    model: usage.model ?? stored.model,
    input_tokens: usage.input_tokens,
    output_tokens: usage.output_tokens,
  };
  if (usage.category !== undefined) raw.category = usage.category;
  return parseUsageEvent(raw, now);
}

/** A parsed settle event in allot_ingest_usage's terms. */
function storedEvent(event: UsageEventInput): SettleEvent {
  return {
    eventId: event.id,
    opKey: usageIdempotencyKey(event.id),
    contentHash: hashEventContent(event),
    model: event.model,
    category: event.category,
    inputTokens: event.inputTokens,
    outputTokens: event.outputTokens,
    eventAt: event.time,
  };
}

function settledAnswer(
  idempotencyKey: string,
  found: StoredReservation,
  event: UsageEventInput,
  outcome: SettleOutcome,
): Settled {
  return {
    reservation: { idempotencyKey, state: outcome.state!, tokens: found.amount, expiresAt: found.expiresAt },
    usedTokens: event.inputTokens + event.outputTokens,
    heldTokens: found.amount,
    replayed: outcome.event === 'duplicate',
    afterExpiry: outcome.state === 'expired',
    unpricedModel: outcome.event === 'accepted' && !outcome.priced ? event.model : null,
    debit:
      outcome.debited > 0n && outcome.balanceAfter !== null
        ? {
            memberId: outcome.memberId!,
            walletId: outcome.walletId!,
            before: outcome.balanceAfter + outcome.debited,
            after: outcome.balanceAfter,
            debited: outcome.debited,
          }
        : null,
  };
}

export type ReleaseFailure = 'reservation_not_found' | 'reservation_already_resolved';

/**
 * Releases a reservation whose call spent nothing, once: the hold is freed and nothing is debited. A
 * repeated release answers as the first did; releasing a settled or expired reservation is
 * `reservation_already_resolved` (detail: its `state`).
 */
export async function releaseReservation(
  ctx: Ctx,
  input: { orgId: bigint; idempotencyKey: string },
): Promise<Result<{ reservation: Reservation; replayed: boolean }, ReleaseFailure>> {
  const found = await reservationsRepo.findByKey(ctx.db.orm, input.orgId, input.idempotencyKey);
  if (!found) return fail('reservation_not_found');
  const resolved = await withRetries(() =>
    reservationsRepo.resolve(ctx.db.orm, {
      orgId: input.orgId,
      id: found.id,
      state: 'released',
      now: ctx.clock.now(),
      usageEventId: null,
    }),
  );
  if (resolved.status === 'not_found') return fail('reservation_not_found');
  if (resolved.status === 'already_resolved' && resolved.state !== 'released') {
    return fail('reservation_already_resolved', { state: resolved.state });
  }
  return ok({
    reservation: {
      idempotencyKey: input.idempotencyKey,
      state: 'released',
      tokens: found.amount,
      expiresAt: found.expiresAt,
    },
    replayed: resolved.status === 'already_resolved',
  });
}

/** Most reservations one sweep expires; the sweeper runs again at once while a sweep comes back full. */
export const expireBatchMax = 500;

/**
 * The sweeper: expires every reservation whose deadline has passed, freeing its hold, in batches of
 * `expireBatchMax`. Safe on any number of replicas at once (each reservation expires once); returns
 * how many this call expired.
 */
export async function expireReservations(ctx: Ctx): Promise<number> {
  let total = 0;
  for (;;) {
    const expired = await withRetries(() => reservationsRepo.expireDue(ctx.db.orm, ctx.clock.now(), expireBatchMax));
    total += expired.length;
    if (expired.length < expireBatchMax) return total;
  }
}

/** A member's tokens as a gateway sees them: balance, held by calls in flight, and available. */
export async function getHolding(ctx: Ctx, input: { orgId: bigint; memberId: bigint }) {
  return reservationsRepo.findWalletHolding(ctx.db.orm, input.orgId, input.memberId);
}

export interface Entitlement {
  /** The user as normalised (`ana@acme.com`, `slack:U…`, `teams:<id>`). */
  user: string;
  memberId: bigint;
  balance: bigint;
  held: bigint;
  available: bigint;
  /** An active member with tokens available: what a gateway's pre-check asks. */
  hasAccess: boolean;
  nextAllowance: { amount: bigint; at: Date; timeZone: string } | null;
  /** At or past a low-balance alert threshold (the same rule as the alerts), counting what is available. */
  lowBalance: boolean;
}

export type EntitlementFailure = 'invalid_user' | 'unknown_user';

/**
 * What `user` may spend now, for a gateway's pre-check or a status page: balance, held by calls in
 * flight, available, whether they have access, their next allowance, and whether they are low (the
 * low-balance alerts' thresholds, `percents` of what they received this month, applied to available).
 */
export async function getEntitlement(
  ctx: Ctx,
  input: { orgId: bigint; user: string; percents: readonly number[] },
): Promise<Result<Entitlement, EntitlementFailure>> {
  const userRef = parseUser(input.user);
  if (!userRef) return fail('invalid_user');
  const [resolved] = await usageRepo.resolveUsers(ctx.db.orm, input.orgId, [userRefText(userRef)]);
  if (!resolved) return fail('unknown_user');
  const [member, organisation, holding, next] = await Promise.all([
    membersRepo.findMember(ctx.db.orm, input.orgId, resolved.memberId),
    membersRepo.findOrganisationById(ctx.db.orm, input.orgId),
    reservationsRepo.findWalletHolding(ctx.db.orm, input.orgId, resolved.memberId),
    nextAllowance(ctx, { orgId: input.orgId, memberId: resolved.memberId }),
  ]);
  if (!member || !organisation || !holding) return fail('unknown_user');
  const now = ctx.clock.now();
  const since = periodStart('month', organisation.timeZone, now);
  const received = await usageRepo.receivedSince(ctx.db.orm, input.orgId, [resolved.walletId], since);
  const low = thresholdsReached({
    after: holding.available,
    receivedThisPeriod: received.get(resolved.walletId) ?? 0n,
    percents: input.percents,
  });
  return ok({
    user: userRefText(userRef),
    memberId: member.id,
    ...holding,
    hasAccess: member.isActive && holding.available > 0n,
    nextAllowance: next ? { amount: next.amount, at: next.at, timeZone: next.timeZone } : null,
    lowBalance: low.length > 0,
  });
}
