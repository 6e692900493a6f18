import * as ledgerRepo from '../ledger/ledger.repository';
import type { Ctx, Platform } from '../lib/context';
import { withRetries } from '../lib/db-errors';
import { fail, ok, type Result } from '../lib/result';
import { batchDigest, hashRawEvent, usageIdempotencyKey } from './replay.models';
import {
  type EventParse,
  eventsPerRequestMax,
  hashEventContent,
  parseUsageEvent,
  type RejectionReason,
  rawEventId,
  rawUserText,
  rejectionMessages,
  type UsageEventInput,
} from './usage.models';
import type { BatchEvent } from './usage.repository';
import * as usageRepo from './usage.repository';

// ---------------------------------------------------------------------------------------------
// ingestion

export type EventResult =
  | { index: number; id: string | null; status: 'accepted' }
  | { index: number; id: string | null; status: 'duplicate' }
  | { index: number; id: string | null; status: 'rejected'; reason: RejectionReason; message: string };

/** A wallet debited by a batch: what alerts need. */
export interface WalletDebit {
  memberId: bigint;
  walletId: bigint;
  before: bigint;
  after: bigint;
  debited: bigint;
}

export interface IngestReport {
  results: EventResult[];
  accepted: number;
  duplicate: number;
  rejected: number;
  /** Models of accepted events that had no price at their time (costed at 0). */
  unpricedModels: string[];
  debits: WalletDebit[];
}

export type IngestFailure = 'too_many_events' | 'organisation_not_found';

/** Each event's answer, filled in step by step; every index has one by the end. */
class EventResults {
  private readonly results: (EventResult | undefined)[];

  constructor(count: number) {
    this.results = new Array(count);
  }

  accept(index: number, id: string): void {
    this.results[index] = { index, id, status: 'accepted' };
  }

  duplicate(index: number, id: string | null): void {
    this.results[index] = { index, id, status: 'duplicate' };
  }

  reject(index: number, id: string | null, reason: RejectionReason, message: string): void {
    this.results[index] = { index, id, status: 'rejected', reason, message };
  }

  anyRejected(): boolean {
    return this.results.some((result) => result?.status === 'rejected');
  }

  /** The answers in order; throws (a bug) if an event was left without one. */
  complete(): EventResult[] {
    return Array.from(this.results, (result, index) => {
      if (!result) throw new Error(`ingestUsage: event ${index} has no result`);
      return result;
    });
  }
}

/** An event that passed validation, with the hashes that decide duplicates. */
interface ValidEvent {
  index: number;
  hash: string;
  /** The event's time as ISO 8601. */
  timeIso: string;
  rawHash: string | null;
  event: UsageEventInput;
}

/**
 * Ingests a batch of at most `eventsPerRequestMax` raw events for an organisation. Each event is
 * validated on its own; valid events are kept when others are not. All accepted events of the batch
 * are stored, priced, valued, debited and rolled up in one database transaction (one round trip to
 * allot_ingest_usage), retried whole on a serialization failure or deadlock. The steps: read the raw
 * ids and users → read what is known of them (a resent batch, stored events, members) while checking
 * the events → validate → fold repeated ids → members → post (price, value, debit, roll up) → report.
 */
export async function ingestUsage(
  ctx: Ctx,
  input: { orgId: bigint; events: readonly unknown[]; platform?: Platform },
): Promise<Result<IngestReport, IngestFailure>> {
  if (input.events.length > eventsPerRequestMax) {
    return fail('too_many_events', { max: eventsPerRequestMax, got: input.events.length });
  }
  const now = ctx.clock.now();
  const count = input.events.length;
  const raw = readRawIdentities(input.events);
  // Two reads. The first is small and answers first: the organisation (and its usage account's
  // stripes, so the post needs no read of its own), and whether this request was
  // accepted whole before (found by its digest; a client retrying after a timeout): then every event
  // in it is a duplicate, answered without checking one. The second is what is known of the events
  // (stored ones, the members behind the others): 1,000 ids and users to write out and send, which a
  // replay should not pay for, so it goes out as soon as the first says "not resent" (or after a few
  // chunks of checks without an answer), while the events are still being checked: a new batch of
  // any size waits no longer for it. A batch that cannot have been resent (no digest), or a small
  // one, sends both at once.
  const digest = batchDigest(raw.ids, raw.hashes);
  const start = usageRepo.findBatchStart(ctx.db.orm, input.orgId, digest);
  let knownRead: Promise<usageRepo.KnownEvents> | undefined;
  const readKnown = () => {
    if (knownRead) return knownRead;
    knownRead = usageRepo.findKnownEvents(ctx.db.orm, input.orgId, { events: raw.sent, digest });
    // A resent batch is answered without waiting for it (its failure then changes nothing).
    knownRead.catch(() => {});
    return knownRead;
  };
  if (digest === undefined || count < checkBeforeKnownEvents) readKnown();
  const checked = await checkWhileReading(input.events, now, start, readKnown);
  const organisation = await start;
  if (!organisation) return fail('organisation_not_found');
  if (organisation.resent) {
    const duplicates = raw.ids.map((id, index): EventResult => ({ index, id: id!, status: 'duplicate' }));
    return ok({ results: duplicates, accepted: 0, duplicate: count, rejected: 0, unpricedModels: [], debits: [] });
  }
  const { stored, users } = await readKnown();
  const results = new EventResults(count);
  const valid = validateEvents(input.events, raw, stored, now, checked, results);
  const candidates = foldRepeatedIds(valid, stored, results);
  const { batch, memberByWallet } = resolveMembers(candidates, users, results);
  const posted =
    batch.length === 0
      ? { unpriced: new Set<string>(), debits: [] }
      : await postBatch(ctx, {
          orgId: input.orgId,
          timeZone: organisation.timeZone,
          usageStripes: organisation.usageStripes,
          platform: input.platform ?? 'api',
          now,
          batch,
          memberByWallet,
          // Accepted whole (every event accepted or a duplicate): the same request resent is answered from its digest.
          digest: results.anyRejected() ? undefined : digest,
          count,
          results,
        });
  const complete = results.complete();
  return ok({
    results: complete,
    accepted: complete.filter((result) => result.status === 'accepted').length,
    duplicate: complete.filter((result) => result.status === 'duplicate').length,
    rejected: complete.filter((result) => result.status === 'rejected').length,
    unpricedModels: [...posted.unpriced].sort(),
    debits: posted.debits,
  });
}

/**
 * Step 1: each event's id, user and the hash of its JSON text, read before any validation, so the
 * events already stored and the members behind the others are found by one indexed read (done beside
 * the organisation's): a replay is answered from it without a transaction, a lock or a write.
 */
function readRawIdentities(events: readonly unknown[]) {
  const ids: (string | undefined)[] = new Array(events.length);
  const hashes: (string | undefined)[] = new Array(events.length);
  const sent: { id: string; ref: string | undefined }[] = [];
  for (let index = 0; index < events.length; index++) {
    const id = rawEventId(events[index]);
    ids[index] = id;
    if (id === undefined) continue;
    sent.push({ id, ref: rawUserText(events[index]) });
    hashes[index] = hashRawEvent(events[index]);
  }
  return { ids, hashes, sent };
}

/** An event's validation and, when valid, its time as ISO 8601 and its content hash. */
type CheckedEvent =
  | { parsed: Extract<EventParse, { ok: false }> }
  | { parsed: Extract<EventParse, { ok: true }>; timeIso: string; hash: string };

function checkEvent(raw: unknown, now: Date): CheckedEvent {
  const parsed = parseUsageEvent(raw, now);
  if (!parsed.ok) return { parsed };
  const timeIso = parsed.event.time.toISOString();
  return { parsed, timeIso, hash: hashEventContent(parsed.event, timeIso) };
}

/** Events checked between two looks at the first read's answer (about a fifth of a millisecond of work). */
const checkChunkEvents = 50;

/**
 * Events checked, with no answer yet from the first read, before the second is sent anyway (under a
 * millisecond of work: a new batch of 1,000 still has most of its checks ahead to hide the read behind).
 */
const checkBeforeKnownEvents = 200;

/** Until the next turn of the event loop after the current one: a query asked for now has been sent. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/**
 * Step 2a, while the reads are away: validates and hashes the events a chunk at a time, giving way
 * between chunks so the first read's answer is taken in as soon as it comes, and stops as soon as it
 * says the batch was resent (then nothing needs checking); when it says "not resent", or after
 * checkBeforeKnownEvents without an answer, `readKnown` sends the second read. Nothing is checked
 * before the first read is on the wire (postgres.js sends a short query at the next setImmediate; one
 * of ours queued earlier would run first), so a replay whose answer is quick checks nothing. Returns
 * what it checked (undefined: not yet). An event found stored byte for byte is a duplicate whatever
 * its check says (validateEvents), so checking it here can waste work, never change an answer.
 */
async function checkWhileReading(
  events: readonly unknown[],
  now: Date,
  start: Promise<{ resent: boolean } | undefined>,
  readKnown: () => unknown,
): Promise<(CheckedEvent | undefined)[]> {
  let stop = false;
  start.then(
    (answer) => {
      stop = answer === undefined || answer.resent;
      if (!stop) readKnown();
    },
    () => {
      stop = true;
    },
  );
  const checked: (CheckedEvent | undefined)[] = new Array(events.length);
  await nextTurn();
  for (let from = 0; from < events.length && !stop; from += checkChunkEvents) {
    const end = Math.min(events.length, from + checkChunkEvents);
    for (let index = from; index < end; index++) checked[index] = checkEvent(events[index], now);
    if (end >= checkBeforeKnownEvents) readKnown();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return checked;
}

/**
 * Step 2: an event byte for byte the same as the stored one with its id is a duplicate as it stands
 * (it was validated when it was accepted). Every other event is validated and hashed by content (most
 * of them already were, while the reads were away).
 */
function validateEvents(
  events: readonly unknown[],
  raw: ReturnType<typeof readRawIdentities>,
  stored: Map<string, usageRepo.StoredHashes>,
  now: Date,
  checked: readonly (CheckedEvent | undefined)[],
  results: EventResults,
): ValidEvent[] {
  const valid: ValidEvent[] = [];
  for (let index = 0; index < events.length; index++) {
    const id = raw.ids[index];
    const rawHash = raw.hashes[index];
    const storedHashes = id === undefined ? undefined : stored.get(id);
    if (storedHashes && rawHash !== undefined && storedHashes.rawHash === rawHash) {
      results.duplicate(index, id!);
      continue;
    }
    const check = checked[index] ?? checkEvent(events[index], now);
    if (!('hash' in check)) results.reject(index, rawId(events[index]), check.parsed.reason, check.parsed.message);
    else
      valid.push({
        index,
        hash: check.hash,
        timeIso: check.timeIso,
        rawHash: rawHash ?? null,
        event: check.parsed.event,
      });
  }
  return valid;
}

/**
 * Step 3: a stored id decides each event naming it: the same content is a duplicate, other content a
 * conflict. Among new ids repeated inside the batch, the first counts; a later identical one is a
 * duplicate, a later different one a conflict.
 */
function foldRepeatedIds(
  valid: ValidEvent[],
  stored: Map<string, usageRepo.StoredHashes>,
  results: EventResults,
): ValidEvent[] {
  const firstById = new Map<string, { hash: string }>();
  const candidates: ValidEvent[] = [];
  for (const item of valid) {
    const { index, event } = item;
    const known = stored.get(event.id) ?? firstById.get(event.id);
    if (!known) {
      firstById.set(event.id, item);
      candidates.push(item);
    } else if ('contentHash' in known ? known.contentHash === item.hash : known.hash === item.hash) {
      results.duplicate(index, event.id);
    } else {
      results.reject(index, event.id, 'id_conflict', rejectionMessages.id_conflict);
    }
  }
  return candidates;
}

/**
 * Step 4: each event's user (email, Slack or Teams id) → member and wallet, as the reads found them
 * (every valid event's user is among those looked up: readRawIdentities); unknown users are rejected.
 */
function resolveMembers(candidates: ValidEvent[], users: Map<string, usageRepo.ResolvedUser>, results: EventResults) {
  const batch: BatchEvent[] = [];
  const memberByWallet = new Map<bigint, bigint>();
  for (const { index, hash, timeIso, rawHash, event } of candidates) {
    const user = users.get(event.userText);
    if (!user) {
      results.reject(index, event.id, 'unknown_user', rejectionMessages.unknown_user);
      continue;
    }
    memberByWallet.set(user.walletId, user.memberId);
    batch.push({
      idx: index,
      eventId: event.id,
      opKey: usageIdempotencyKey(event.id),
      contentHash: hash,
      rawHash,
      memberId: user.memberId,
      walletId: user.walletId,
      model: event.model,
      category: event.category,
      inputTokens: event.inputTokens,
      outputTokens: event.outputTokens,
      eventAt: timeIso,
    });
  }
  return { batch, memberByWallet };
}

/**
 * Step 5: one statement, one round trip: allot_ingest_usage stores, prices, values, debits and rolls
 * up the batch (pricing.models.ts states the arithmetic), and the batch's digest is recorded when it
 * was accepted whole, all in the statement's one transaction, retried whole on a serialization failure
 * or deadlock. Fills each event's answer; returns the unpriced models and the debits.
 */
async function postBatch(
  ctx: Ctx,
  input: {
    orgId: bigint;
    timeZone: string;
    usageStripes: usageRepo.BatchStart['usageStripes'];
    platform: Platform;
    now: Date;
    batch: BatchEvent[];
    memberByWallet: Map<bigint, bigint>;
    digest: string | undefined;
    count: number;
    results: EventResults;
  },
): Promise<{ unpriced: Set<string>; debits: WalletDebit[] }> {
  const { orgId, results } = input;
  // The batch credits one stripe of the usage account: its first wallet's, so concurrent batches
  // spread over the stripes (the stripes came with the first read: no round trip of its own).
  const usageAccount = ledgerRepo.pickUsageStripe(input.usageStripes, input.batch[0]?.walletId ?? 0n);
  if (!usageAccount) throw new Error(`organisation ${orgId} has no usage account`);
  const outcome = await withRetries(() =>
    usageRepo.ingestBatch(ctx.db.orm, {
      orgId: input.orgId,
      timeZone: input.timeZone,
      usageAccountId: usageAccount.id,
      platform: input.platform,
      recordedAt: input.now,
      events: input.batch,
      batch: input.digest === undefined ? undefined : { digest: input.digest, events: input.count },
    }),
  );
  const unpriced = new Set<string>();
  const sentByIndex = new Map(input.batch.map((event) => [event.idx, event]));
  for (const row of outcome.events) {
    const sent = sentByIndex.get(row.idx)!;
    if (row.status === 'accepted') {
      results.accept(row.idx, sent.eventId);
      if (!row.priced) unpriced.add(sent.model);
    } else if (row.status === 'duplicate') {
      results.duplicate(row.idx, sent.eventId);
    } else {
      results.reject(row.idx, sent.eventId, 'id_conflict', rejectionMessages.id_conflict);
    }
  }
  const debits = outcome.wallets.map(
    (wallet): WalletDebit => ({
      memberId: input.memberByWallet.get(wallet.walletId)!,
      walletId: wallet.walletId,
      before: wallet.balanceAfter + wallet.debited,
      after: wallet.balanceAfter,
      debited: wallet.debited,
    }),
  );
  return { unpriced, debits };
}

function rawId(raw: unknown): string | null {
  if (!raw || typeof raw !== 'object') return null;
  const id = (raw as Record<string, unknown>).id ?? (raw as Record<string, unknown>)['gen_ai.response.id'];
  return typeof id === 'string' ? id.slice(0, 255) : null;
}

// Verbs that moved to their own files, still exported here for the CLI and the benchmarks until they
// import them from api-keys.usecases.ts, prices.usecases.ts and leaderboard.usecases.ts.
