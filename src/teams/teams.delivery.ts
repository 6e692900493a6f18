import { setTimeout as sleep } from 'node:timers/promises';
import { SendLimiter } from '../lib/send-limiter';

// How Allot writes to Teams without tripping its limits: at most 7 messages per second (8 per 2 s,
// 60 per 30 s) per conversation, retries of 429, 412, 502 and 504 with jittered backoff and a bound on
// attempts, and a clear verdict when Teams says the bot may no longer write there (403).
// Source: msteams-docs bots/how-to/rate-limit.md, send-proactive-messages.md.

export type ConnectorErrorKind = 'retry' | 'unreachable' | 'not_found' | 'fatal';

export interface ConnectorErrorInfo {
  kind: ConnectorErrorKind;
  status: number | undefined;
  /** Teams' error code (e.g. MessageWritesBlocked, ConversationBlockedByUser) when the body names one. */
  code: string | undefined;
  retryAfterMs: number | undefined;
}

const retryStatuses = new Set([429, 412, 502, 504]);
const retryAfterMaxMs = 60_000;

function headerOf(error: unknown, name: string): string | undefined {
  const headers = (error as { response?: { headers?: unknown } }).response?.headers;
  if (!headers) return undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') {
    const value = (headers as { get(name: string): unknown }).get(name);
    return typeof value === 'string' ? value : undefined;
  }
  const value = (headers as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

function errorCodeOf(error: unknown): string | undefined {
  const candidates: unknown[] = [
    (error as { code?: unknown }).code,
    (error as { details?: { error?: { code?: unknown } } }).details?.error?.code,
  ];
  const body = (error as { response?: { bodyAsText?: unknown } }).response?.bodyAsText;
  if (typeof body === 'string' && body.length < 10_000) {
    try {
      candidates.unshift((JSON.parse(body) as { error?: { code?: unknown } }).error?.code);
    } catch {
      // A body that is not JSON names no code.
    }
  }
  return candidates.find((value): value is string => typeof value === 'string' && value.length > 0);
}

/** Sorts an error thrown by the connector client (a RestError, or a network error) into what to do next. */
export function classifyConnectorError(error: unknown): ConnectorErrorInfo {
  const raw = (error as { statusCode?: unknown }).statusCode ?? (error as { status?: unknown }).status;
  const status = typeof raw === 'number' ? raw : undefined;
  const code = errorCodeOf(error);
  const retryAfter = headerOf(error, 'retry-after');
  const seconds = retryAfter !== undefined && /^\d+(\.\d+)?$/.test(retryAfter.trim()) ? Number(retryAfter) : undefined;
  const retryAfterMs = seconds === undefined ? undefined : Math.min(seconds * 1000, retryAfterMaxMs);
  if (status === 403) return { kind: 'unreachable', status, code, retryAfterMs };
  if (status === 404) return { kind: 'not_found', status, code, retryAfterMs };
  if (status !== undefined && retryStatuses.has(status)) return { kind: 'retry', status, code, retryAfterMs };
  // No status at all: the connector could not be reached (reset, refused, timeout); worth another try.
  if (status === undefined && code !== undefined && /^E[A-Z]+$/.test(code)) {
    return { kind: 'retry', status, code, retryAfterMs };
  }
  return { kind: 'fatal', status, code, retryAfterMs };
}

export interface RetryPolicy {
  attemptsMax: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { attemptsMax: 4, baseDelayMs: 500, maxDelayMs: 8_000 };

/** Delay before attempt `attempt + 1`: Retry-After when Teams gives one, else exponential; both jittered. */
export function backoffDelayMs(
  policy: RetryPolicy,
  attempt: number,
  retryAfterMs: number | undefined,
  random = Math.random,
): number {
  if (retryAfterMs !== undefined) return retryAfterMs + Math.floor(random() * Math.min(250, policy.baseDelayMs));
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  // "Equal jitter": half the ceiling fixed, half random, so retries from many sends spread out.
  return Math.floor(ceiling / 2 + random() * (ceiling / 2));
}

export type DeliveryResult<T> =
  | { ok: true; value: T; attempts: number }
  | { ok: false; error: ConnectorErrorInfo; attempts: number; cause: unknown };

/** Runs one connector call, retrying what Teams says may be retried, at most `policy.attemptsMax` times. */
export async function withConnectorRetries<T>(
  work: () => Promise<T>,
  policy: RetryPolicy = defaultRetryPolicy,
  onRetry?: (info: ConnectorErrorInfo, attempt: number, delayMs: number) => void,
): Promise<DeliveryResult<T>> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return { ok: true, value: await work(), attempts: attempt };
    } catch (cause) {
      const info = classifyConnectorError(cause);
      if (info.kind !== 'retry' || attempt >= policy.attemptsMax)
        return { ok: false, error: info, attempts: attempt, cause };
      const delayMs = backoffDelayMs(policy, attempt, info.retryAfterMs);
      onRetry?.(info, attempt, delayMs);
      await sleep(delayMs);
    }
  }
}

/** Teams' send limits per bot per conversation (thread). */
export const conversationSendWindows = [
  { count: 7, ms: 1_000 },
  { count: 8, ms: 2_000 },
  { count: 60, ms: 30_000 },
] as const;

/** Teams' windows on the shared send limiter (src/lib/send-limiter.ts). */
export class ConversationLimiter extends SendLimiter {
  constructor(
    windows: readonly { count: number; ms: number }[] = conversationSendWindows,
    now: () => number = () => performance.now(),
  ) {
    super(windows, now);
  }
}
