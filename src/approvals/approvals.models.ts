import type { TopUpRequestState } from './approvals.tables';

/** Default time a request waits for a decision (72 hours). */
export const requestExpiryMsDefault = 72 * 60 * 60 * 1000;
/** Most pending requests one member may have open at once. */
export const pendingRequestsPerMemberMax = 20;
/** Most admins asked to decide one request when the requester has no manager. */
export const adminApproversMax = 10;

/** The idempotency key of the top-up an approval posts: one transfer per request, however often it is clicked. */
export function topUpKeyForRequest(requestId: bigint): string {
  return `topup-request:${requestId}`;
}

export function isFinalState(state: TopUpRequestState): boolean {
  return state !== 'pending';
}
