import { createHash } from 'node:crypto';
import { z } from 'zod';
import { grantRecipientsMax, idempotencyKeyLengthMax, memoLengthMax } from '../ledger/ledger.models';
import { decodeExpiry, type ExpiryInput, encodeExpiry } from '../lib/expiry.models';

// A large grant or budget issue waits for its issuer's Confirm click (src/ledger/ledger.models.ts says
// how large). The operation travels in the buttons' value, so nothing is stored until it is confirmed:
// a click carries back exactly what was asked, with the idempotency key of the command that asked, so a
// double click or a redelivered click posts once. A value changed on the way could only ask for what
// its clicker may do anyway: the verb checks the clicker's rights again, and only the issuer may click.

/** An operation waiting for confirmation, as its buttons carry it. */
export type PendingOperation =
  | {
      kind: 'grant';
      /** The member who typed the command; only they may confirm or cancel. */
      issuerId: bigint;
      recipientIds: bigint[];
      amount: bigint;
      reason: string;
      /** The idempotency key of the command that asked (its Slack trigger id, its Teams activity id). */
      idempotencyKey: string;
      /** The expiry typed with the command; absent: the organisation's default when it is posted. */
      expiry?: ExpiryInput;
    }
  | {
      kind: 'budget';
      issuerId: bigint;
      managerId: bigint;
      amount: bigint;
      memo: string;
      idempotencyKey: string;
      expiry?: ExpiryInput;
    };

/** Longest button value both platforms carry back (Slack: 2000 characters; Teams cards hold more). */
export const pendingOperationValueLengthMax = 2_000;

const id = z.string().regex(/^[0-9]{1,18}$/);
const wire = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('grant'),
    by: id,
    to: z.array(id).min(1).max(grantRecipientsMax),
    amount: id,
    reason: z.string().max(memoLengthMax),
    key: z.string().min(1).max(idempotencyKeyLengthMax),
    expires: z.string().max(64).optional(),
  }),
  z.object({
    kind: z.literal('budget'),
    by: id,
    manager: id,
    amount: id,
    memo: z.string().max(memoLengthMax),
    key: z.string().min(1).max(idempotencyKeyLengthMax),
    expires: z.string().max(64).optional(),
  }),
]);

/** The buttons' value for an operation, or undefined when it would be longer than a button carries. */
export function encodePendingOperation(operation: PendingOperation): string | undefined {
  const expires = operation.expiry ? { expires: encodeExpiry(operation.expiry) } : {};
  const value = JSON.stringify(
    operation.kind === 'grant'
      ? {
          kind: 'grant',
          by: operation.issuerId.toString(),
          to: operation.recipientIds.map(String),
          amount: operation.amount.toString(),
          reason: operation.reason,
          key: operation.idempotencyKey,
          ...expires,
        }
      : {
          kind: 'budget',
          by: operation.issuerId.toString(),
          manager: operation.managerId.toString(),
          amount: operation.amount.toString(),
          memo: operation.memo,
          key: operation.idempotencyKey,
          ...expires,
        },
  );
  return value.length > pendingOperationValueLengthMax ? undefined : value;
}

/** Reads a button's value back; undefined for anything that is not one of ours. */
export function decodePendingOperation(value: string): PendingOperation | undefined {
  if (value.length > pendingOperationValueLengthMax) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return undefined;
  }
  const parsed = wire.safeParse(json);
  if (!parsed.success) return undefined;
  const data = parsed.data;
  const expiry = data.expires === undefined ? undefined : decodeExpiry(data.expires);
  if (data.expires !== undefined && !expiry) return undefined;
  const withExpiry = expiry ? { expiry } : {};
  return data.kind === 'grant'
    ? {
        kind: 'grant',
        issuerId: BigInt(data.by),
        recipientIds: data.to.map(BigInt),
        amount: BigInt(data.amount),
        reason: data.reason,
        idempotencyKey: data.key,
        ...withExpiry,
      }
    : {
        kind: 'budget',
        issuerId: BigInt(data.by),
        managerId: BigInt(data.manager),
        amount: BigInt(data.amount),
        memo: data.memo,
        idempotencyKey: data.key,
        ...withExpiry,
      };
}

/**
 * The source keys (inbound_deliveries) that record how an operation's question was answered: `decided`
 * is claimed by the first click of either button, then `cancelled` or `confirmed` says which. Derived
 * from the command's idempotency key, hashed so they stay within the column's 255 characters.
 */
export function operationDecisionKeys(key: string): { decided: string; cancelled: string; confirmed: string } {
  const decided = `operation:${createHash('sha256').update(key).digest('base64url')}`;
  return { decided, cancelled: `${decided}:cancelled`, confirmed: `${decided}:confirmed` };
}
