import { createHash } from 'node:crypto';
import { formatTokens } from '../ledger/amount.models';
import type { RejectionReason } from '../usage/usage.models';
import {
  type ReservationState,
  reservationTimeoutSecondsDefault,
  reservationTimeoutSecondsMax,
} from './reservations.tables';

declare module '../lib/failures' {
  interface FailureDetails {
    /** What the wallet has available, and whose it is. */
    insufficient_tokens: { available: bigint; memberId: bigint | null };
    /** The settle's usage event was refused as /v1/usage would refuse it. */
    usage_rejected: { reason: RejectionReason; message: string; field?: string };
    reservation_already_resolved: { state: ReservationState | null };
  }
}

/**
 * Gateway requests (reserve, settle, release, entitlement) one API key may have in flight at once: a
 * gateway makes one per model call of every person it serves, each a single-row operation, so the
 * bound is well above /v1/usage's (whose requests are batches of up to 1000 events).
 */
export const gatewayRequestsInFlightPerKeyMax = 256;

/** Longest id a gateway may give a reservation (the column's CHECK agrees). */
export const reservationKeyLengthMax = 255;

/**
 * The deadline of a reservation made at `now`: `timeoutSeconds` later (default 300 s, at most 1 hour).
 * Returns undefined for a timeout that is not a whole number of seconds from 1 to 3,600.
 */
export function reservationDeadline(now: Date, timeoutSeconds: number | undefined): Date | undefined {
  const seconds = timeoutSeconds ?? reservationTimeoutSecondsDefault;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > reservationTimeoutSecondsMax) return undefined;
  return new Date(now.getTime() + seconds * 1_000);
}

const settlePrefix = 'reservation:';

/**
 * The id of the usage event that settles a reservation: `reservation:<its id>`, or, for ids too long
 * to carry the prefix, `reservation#<sha-256 of the id>`. Derived from the reservation alone, so a
 * retried settle is a duplicate event and never a second debit.
 */
export function settleEventId(reservationKey: string): string {
  const id = `${settlePrefix}${reservationKey}`;
  return id.length <= reservationKeyLengthMax
    ? id
    : `reservation#${createHash('sha256').update(reservationKey).digest('base64url')}`;
}

/**
 * What a gateway can show the person when a call is refused for want of tokens: how much is left, when
 * the next allowance comes (a date in their time zone), and how to ask for more. Plain text, one line.
 */
export function insufficientTokensMessage(input: {
  available: bigint;
  requested: bigint;
  nextAllowance: { amount: bigint; at: Date; timeZone: string } | null;
}): string {
  const left =
    input.available > 0n
      ? `You have ${formatTokens(input.available)} tokens available; this call needs ${formatTokens(input.requested)}.`
      : `You have no tokens available; this call needs ${formatTokens(input.requested)}.`;
  const next = input.nextAllowance
    ? ` Your next allowance of ${formatTokens(input.nextAllowance.amount)} tokens arrives on ${new Intl.DateTimeFormat(
        'en-GB',
        { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: input.nextAllowance.timeZone },
      ).format(input.nextAllowance.at)}.`
    : '';
  return `${left}${next} Ask for more in Slack or Teams with /request-tokens.`;
}
