import * as ledgerRepo from '../ledger/ledger.repository';
import type { Ctx, Platform } from '../lib/context';
import { withRetries } from '../lib/db-errors';
import { fail, ok, type Result } from '../lib/result';
import * as membersRepo from '../members/members.repository';
import { batchDigest, hashRawEvent, usageIdempotencyKey } from './replay.models';
import {
  eventsPerRequestMax,
  hashEventContent,
  parseUsageEvent,
  type RejectionReason,
  rawEventId,
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
  rawHash: string | null;
  event: UsageEventInput;
}

/**
 * Ingests a batch of at most `eventsPerRequestMax` raw events for an organisation. Each event is
 * validated on its own; valid events are kept when others are not. All accepted events of the batch
 * are stored, priced, valued, debited and rolled up in one database transaction (one round trip to
 * allot_ingest_usage), retried whole on a serialization failure or deadlock. The steps: read the raw
 * ids → answer a resent batch or stored events → validate → fold repeated ids → resolve members →
 * post (price, value, debit, roll up) → report.
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
  // A request resent whole after it was accepted whole (a client retrying after a timeout) is found
  // by its digest in one probe: every event in it is a duplicate, and nothing else is read.
  const digest = batchDigest(raw.ids, raw.hashes);
  const [organisation, resent] = await Promise.all([
    membersRepo.findOrganisationById(ctx.db.orm, input.orgId),
    digest === undefined ? false : usageRepo.isBatchStored(ctx.db.orm, input.orgId, digest),
  ]);
  if (!organisation) return fail('organisation_not_found');
  if (resent) {
    const duplicates = raw.ids.map((id, index): EventResult => ({ index, id: id!, status: 'duplicate' }));
    return ok({ results: duplicates, accepted: 0, duplicate: count, rejected: 0, unpricedModels: [], debits: [] });
  }
  const stored = await usageRepo.findStoredHashes(ctx.db.orm, input.orgId, [...raw.distinct]);
  const results = new EventResults(count);
  const valid = validateEvents(input.events, raw, stored, now, results);
  const candidates = foldRepeatedIds(valid, stored, results);
  const { batch, memberByWallet } = await resolveMembers(ctx, input.orgId, candidates, results);
  const posted =
    batch.length === 0
      ? { unpriced: new Set<string>(), debits: [] }
      : await postBatch(ctx, {
          orgId: input.orgId,
          timeZone: organisation.timeZone,
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
 * Step 1: each event's id and the hash of its JSON text, read before any validation, so the events
 * already stored are found by one indexed read (done beside the organisation's): a replay is
 * answered from it without a transaction, a lock or a write.
 */
function readRawIdentities(events: readonly unknown[]) {
  const ids: (string | undefined)[] = new Array(events.length);
  const hashes: (string | undefined)[] = new Array(events.length);
  const distinct = new Set<string>();
  for (let index = 0; index < events.length; index++) {
    const id = rawEventId(events[index]);
    ids[index] = id;
    if (id === undefined) continue;
    distinct.add(id);
    hashes[index] = hashRawEvent(events[index]);
  }
  return { ids, hashes, distinct };
}

/**
 * Step 2: an event byte for byte the same as the stored one with its id is a duplicate as it stands
 * (it was validated when it was accepted). Every other event is validated with zod and hashed by content.
 */
function validateEvents(
  events: readonly unknown[],
  raw: ReturnType<typeof readRawIdentities>,
  stored: Map<string, usageRepo.StoredHashes>,
  now: Date,
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
    const parsed = parseUsageEvent(events[index], now);
    if (!parsed.ok) results.reject(index, rawId(events[index]), parsed.reason, parsed.message);
    else valid.push({ index, hash: hashEventContent(parsed.event), rawHash: rawHash ?? null, event: parsed.event });
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

/** Step 4: each event's user (email, Slack or Teams id) → member and wallet, in one read; unknown users are rejected. */
async function resolveMembers(ctx: Ctx, orgId: bigint, candidates: ValidEvent[], results: EventResults) {
  const refs = { emails: new Set<string>(), slackIds: new Set<string>(), teamsIds: new Set<string>() };
  for (const { event } of candidates) {
    if (event.user.kind === 'email') refs.emails.add(event.user.email);
    else if (event.user.kind === 'slack') refs.slackIds.add(event.user.userId);
    else refs.teamsIds.add(event.user.objectId);
  }
  const resolved = new Map(
    (
      await usageRepo.resolveUsers(ctx.db.orm, orgId, {
        emails: [...refs.emails],
        slackIds: [...refs.slackIds],
        teamsIds: [...refs.teamsIds],
      })
    ).map((user) => [user.ref, user]),
  );
  const batch: BatchEvent[] = [];
  const memberByWallet = new Map<bigint, bigint>();
  for (const { index, hash, rawHash, event } of candidates) {
    const user = resolved.get(event.userText);
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
      eventAt: event.time,
    });
  }
  return { batch, memberByWallet };
}

/**
 * Step 5: one transaction, one round trip to allot_ingest_usage: stores, prices, values, debits and
 * rolls up the batch (pricing.models.ts states the arithmetic), and records the batch's digest when
 * it was accepted whole. Fills each event's answer; returns the unpriced models and the debits.
 */
async function postBatch(
  ctx: Ctx,
  input: {
    orgId: bigint;
    timeZone: string;
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
  // spread over the stripes.
  const usageAccount = await ledgerRepo.findUsageAccountFor(ctx.db.orm, orgId, input.batch[0]?.walletId ?? 0n);
  if (!usageAccount) throw new Error(`organisation ${orgId} has no usage account`);
  const outcome = await withRetries(() =>
    ctx.db.orm.transaction(async (tx) => {
      const ingested = await usageRepo.ingestBatch(tx, {
        orgId,
        timeZone: input.timeZone,
        usageAccountId: usageAccount.id,
        platform: input.platform,
        recordedAt: input.now,
        events: input.batch,
      });
      if (input.digest !== undefined && ingested.events.every((event) => event.status !== 'conflict')) {
        await usageRepo.insertBatch(tx, { orgId, digest: input.digest, events: input.count, recordedAt: input.now });
      }
      return ingested;
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
