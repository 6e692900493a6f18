import * as ledgerRepo from '../ledger/ledger.repository';
import type { Actor, Ctx, Platform } from '../lib/context';
import { actorMemberId } from '../lib/context';
import { withRetries } from '../lib/db-errors';
import { currentPeriod } from '../lib/periods.models';
import { fail, ok, type Result } from '../lib/result';
import * as membersRepo from '../members/members.repository';
import { isAdminActor } from '../members/members.usecases';
import { parsePricePerMillion, parseWeight, valuePerMoney } from './pricing.models';
import {
  batchDigest,
  eventsPerRequestMax,
  generateApiKey,
  hashApiKey,
  hashEventContent,
  hashRawEvent,
  isValidApiKeyName,
  isValidCategory,
  leaderboardTopNMax,
  looksLikeApiKey,
  normaliseModel,
  parseUsageEvent,
  type RejectionReason,
  rawEventId,
  rejectionMessages,
  type UsageEventInput,
  usageOperationKey,
} from './usage.models';
import type { ApiKey, BatchEvent, LeaderboardRow, ModelUsageRow, PriceRow } from './usage.repository';
import * as usageRepo from './usage.repository';
import { type LeaderboardWindow, leaderboardWindows } from './usage.tables';

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

/**
 * Ingests a batch of at most `eventsPerRequestMax` raw events for an organisation. Each event is
 * validated on its own; valid events are kept when others are not. All accepted events of the batch
 * are stored, priced, valued, debited and rolled up in one database transaction (one round trip to
 * allot_ingest_usage), retried whole on a serialization failure or deadlock.
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
  const results: (EventResult | undefined)[] = new Array(count);
  const reject = (index: number, id: string | null, reason: RejectionReason, message: string) => {
    results[index] = { index, id, status: 'rejected', reason, message };
  };

  // Each event's id and the hash of its JSON text, read before any validation, so the events already
  // stored are found by one indexed read (done beside the organisation's): a replay is answered from
  // it without a transaction, a lock or a write.
  const rawIds: (string | undefined)[] = new Array(count);
  const rawHashes: (string | undefined)[] = new Array(count);
  const ids = new Set<string>();
  for (let index = 0; index < count; index++) {
    const id = rawEventId(input.events[index]);
    rawIds[index] = id;
    if (id === undefined) continue;
    ids.add(id);
    rawHashes[index] = hashRawEvent(input.events[index]);
  }
  // A request resent whole after it was accepted whole (a client retrying after a timeout) is found
  // by its digest in one probe: every event in it is a duplicate, and nothing else is read.
  const digest = batchDigest(rawIds, rawHashes);
  const [organisation, resent] = await Promise.all([
    membersRepo.findOrganisationById(ctx.db.orm, input.orgId),
    digest === undefined ? false : usageRepo.isBatchStored(ctx.db.orm, input.orgId, digest),
  ]);
  if (!organisation) return fail('organisation_not_found');
  if (resent) {
    const duplicates = rawIds.map((id, index): EventResult => ({ index, id: id!, status: 'duplicate' }));
    return ok({ results: duplicates, accepted: 0, duplicate: count, rejected: 0, unpricedModels: [], debits: [] });
  }
  const stored = await usageRepo.findStoredHashes(ctx.db.orm, input.orgId, [...ids]);

  // An event byte for byte the same as the stored one with its id is a duplicate as it stands (it was
  // validated when it was accepted). Every other event is validated with zod and hashed by content.
  const valid: { index: number; hash: string; rawHash: string | null; event: UsageEventInput }[] = [];
  for (let index = 0; index < count; index++) {
    const id = rawIds[index];
    const rawHash = rawHashes[index];
    const storedHashes = id === undefined ? undefined : stored.get(id);
    if (storedHashes && rawHash !== undefined && storedHashes.rawHash === rawHash) {
      results[index] = { index, id: id!, status: 'duplicate' };
      continue;
    }
    const raw = input.events[index];
    const parsed = parseUsageEvent(raw, now);
    if (!parsed.ok) reject(index, rawId(raw), parsed.reason, parsed.message);
    else valid.push({ index, hash: hashEventContent(parsed.event), rawHash: rawHash ?? null, event: parsed.event });
  }

  // A stored id decides each event naming it: the same content is a duplicate, other content a
  // conflict. Among new ids repeated inside the batch, the first counts; a later identical one is a
  // duplicate, a later different one a conflict.
  const firstById = new Map<string, { hash: string }>();
  const candidates: typeof valid = [];
  for (const item of valid) {
    const { index, event } = item;
    const known = stored.get(event.id) ?? firstById.get(event.id);
    if (!known) {
      firstById.set(event.id, item);
      candidates.push(item);
    } else if ('contentHash' in known ? known.contentHash === item.hash : known.hash === item.hash) {
      results[index] = { index, id: event.id, status: 'duplicate' };
    } else {
      reject(index, event.id, 'id_conflict', rejectionMessages.id_conflict);
    }
  }

  const refs = { emails: new Set<string>(), slackIds: new Set<string>(), teamsIds: new Set<string>() };
  for (const { event } of candidates) {
    if (event.user.kind === 'email') refs.emails.add(event.user.email);
    else if (event.user.kind === 'slack') refs.slackIds.add(event.user.userId);
    else refs.teamsIds.add(event.user.objectId);
  }
  const resolved = new Map(
    (
      await usageRepo.resolveUsers(ctx.db.orm, input.orgId, {
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
      reject(index, event.id, 'unknown_user', rejectionMessages.unknown_user);
      continue;
    }
    memberByWallet.set(user.walletId, user.memberId);
    batch.push({
      idx: index,
      eventId: event.id,
      opKey: usageOperationKey(event.id),
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

  const unpriced = new Set<string>();
  const debits: WalletDebit[] = [];
  if (batch.length > 0) {
    const usageAccount = await ledgerRepo.findAccount(ctx.db.orm, input.orgId, 'usage', null);
    if (!usageAccount) throw new Error(`organisation ${input.orgId} has no usage account`);
    const rejectedBefore = results.some((result) => result?.status === 'rejected');
    const outcome = await withRetries(() =>
      ctx.db.orm.transaction(async (tx) => {
        const ingested = await usageRepo.ingestBatch(tx, {
          orgId: input.orgId,
          timeZone: organisation.timeZone,
          usageAccountId: usageAccount.id,
          platform: input.platform ?? 'api',
          recordedAt: now,
          events: batch,
        });
        // Accepted whole (every event accepted or a duplicate): the same request resent is answered
        // from its digest.
        if (digest !== undefined && !rejectedBefore && ingested.events.every((event) => event.status !== 'conflict')) {
          await usageRepo.insertBatch(tx, { orgId: input.orgId, digest, events: count, recordedAt: now });
        }
        return ingested;
      }),
    );
    const modelByIndex = new Map(batch.map((event) => [event.idx, event]));
    for (const row of outcome.events) {
      const sent = modelByIndex.get(row.idx)!;
      if (row.status === 'accepted') {
        results[row.idx] = { index: row.idx, id: sent.eventId, status: 'accepted' };
        if (!row.priced) unpriced.add(sent.model);
      } else if (row.status === 'duplicate') {
        results[row.idx] = { index: row.idx, id: sent.eventId, status: 'duplicate' };
      } else {
        reject(row.idx, sent.eventId, 'id_conflict', rejectionMessages.id_conflict);
      }
    }
    for (const wallet of outcome.wallets) {
      debits.push({
        memberId: memberByWallet.get(wallet.walletId)!,
        walletId: wallet.walletId,
        before: wallet.balanceAfter + wallet.debited,
        after: wallet.balanceAfter,
        debited: wallet.debited,
      });
    }
  }

  const complete = results.map((result, index) => {
    if (!result) throw new Error(`ingestUsage: event ${index} has no result`);
    return result;
  });
  return ok({
    results: complete,
    accepted: complete.filter((result) => result.status === 'accepted').length,
    duplicate: complete.filter((result) => result.status === 'duplicate').length,
    rejected: complete.filter((result) => result.status === 'rejected').length,
    unpricedModels: [...unpriced].sort(),
    debits,
  });
}

function rawId(raw: unknown): string | null {
  if (!raw || typeof raw !== 'object') return null;
  const id = (raw as Record<string, unknown>).id ?? (raw as Record<string, unknown>)['gen_ai.response.id'];
  return typeof id === 'string' ? id.slice(0, 255) : null;
}

// ---------------------------------------------------------------------------------------------
// API keys

export type ApiKeyFailure = 'not_an_admin' | 'name_invalid' | 'name_taken' | 'key_not_found';

/** A new key; the clear key is in the answer only, never stored. */
export async function createApiKey(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; name: string },
): Promise<
  Result<{ key: string; apiKey: ApiKey }, Extract<ApiKeyFailure, 'not_an_admin' | 'name_invalid' | 'name_taken'>>
> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  const name = input.name.trim();
  if (!isValidApiKeyName(name)) return fail('name_invalid');
  if (await usageRepo.findLiveApiKeyByName(ctx.db.orm, input.orgId, name)) return fail('name_taken');
  const generated = generateApiKey();
  try {
    const apiKey = await ctx.db.orm.transaction(async (tx) => {
      const created = await usageRepo.insertApiKey(tx, {
        orgId: input.orgId,
        name,
        keyHash: generated.hash,
        keyPrefix: generated.prefix,
        createdByMemberId: actorMemberId(input.actor),
        createdAt: ctx.clock.now(),
      });
      await membersRepo.insertActorAudit(tx, {
        orgId: input.orgId,
        actor: input.actor,
        action: 'apikey.create',
        details: { name, prefix: generated.prefix },
        at: ctx.clock.now(),
      });
      return created;
    });
    return ok({ key: generated.key, apiKey });
  } catch (error) {
    if (await usageRepo.findLiveApiKeyByName(ctx.db.orm, input.orgId, name)) return fail('name_taken');
    throw error;
  }
}

export async function listApiKeys(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor },
): Promise<Result<ApiKey[], 'not_an_admin'>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  return ok(await usageRepo.listApiKeys(ctx.db.orm, input.orgId));
}

export async function revokeApiKey(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; name: string },
): Promise<Result<ApiKey, Extract<ApiKeyFailure, 'not_an_admin' | 'key_not_found'>>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  return ctx.db.orm.transaction(async (tx) => {
    const revoked = await usageRepo.revokeApiKey(tx, input.orgId, input.name.trim(), ctx.clock.now());
    if (!revoked) return fail('key_not_found');
    await membersRepo.insertActorAudit(tx, {
      orgId: input.orgId,
      actor: input.actor,
      action: 'apikey.revoke',
      details: { name: revoked.name, prefix: revoked.keyPrefix },
      at: ctx.clock.now(),
    });
    return ok(revoked);
  });
}

/** The organisation a bearer key belongs to; undefined for an unknown, malformed or revoked key. */
export async function authenticateApiKey(
  ctx: Ctx,
  key: string,
): Promise<{ orgId: bigint; keyId: bigint; name: string } | undefined> {
  if (!looksLikeApiKey(key)) return undefined;
  const found = await usageRepo.findLiveApiKeyByHash(ctx.db.orm, hashApiKey(key));
  return found ? { orgId: found.orgId, keyId: found.id, name: found.name } : undefined;
}

// ---------------------------------------------------------------------------------------------
// prices and weights

export type SetPriceFailure = 'not_an_admin' | 'model_invalid' | 'price_invalid';

/**
 * Sets a model's price from `effectiveFrom` (default: now) in money per million input and output
 * tokens, typed as decimals ("2.50"). Events keep the price in force at their own time.
 */
export async function setPrice(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; model: string; input: string; output: string; effectiveFrom?: Date },
): Promise<Result<PriceRow, SetPriceFailure>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  const model = normaliseModel(input.model);
  if (!model) return fail('model_invalid');
  const inputMicros = parsePricePerMillion(input.input);
  const outputMicros = parsePricePerMillion(input.output);
  if (inputMicros === undefined || outputMicros === undefined) return fail('price_invalid');
  const effectiveFrom = input.effectiveFrom ?? ctx.clock.now();
  if (Number.isNaN(effectiveFrom.getTime())) return fail('price_invalid');
  await ctx.db.orm.transaction(async (tx) => {
    await usageRepo.upsertPrice(tx, {
      orgId: input.orgId,
      model,
      effectiveFrom,
      inputMicrosPerMillion: inputMicros,
      outputMicrosPerMillion: outputMicros,
      createdByMemberId: actorMemberId(input.actor),
    });
    await membersRepo.insertActorAudit(tx, {
      orgId: input.orgId,
      actor: input.actor,
      action: 'price.set',
      details: { model, effectiveFrom: effectiveFrom.toISOString(), inputMicros, outputMicros },
      at: ctx.clock.now(),
    });
  });
  return ok({
    model,
    effectiveFrom,
    inputMicrosPerMillion: inputMicros,
    outputMicrosPerMillion: outputMicros,
    source: 'organisation',
  });
}

export async function listPrices(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor },
): Promise<Result<PriceRow[], 'not_an_admin'>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  return ok(await usageRepo.listPrices(ctx.db.orm, input.orgId));
}

export type SetWeightFailure = 'not_an_admin' | 'category_invalid' | 'weight_invalid';

/** Sets a category's value weight ("1.5"); value = tokens × weight for events from now on. */
export async function setWeight(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; category: string; weight: string },
): Promise<Result<{ category: string; weightThousandths: number }, SetWeightFailure>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  const category = input.category.trim().toLowerCase();
  if (!isValidCategory(category)) return fail('category_invalid');
  const weightThousandths = parseWeight(input.weight);
  if (weightThousandths === undefined) return fail('weight_invalid');
  await ctx.db.orm.transaction(async (tx) => {
    await usageRepo.upsertWeight(tx, { orgId: input.orgId, category, weightThousandths, at: ctx.clock.now() });
    await membersRepo.insertActorAudit(tx, {
      orgId: input.orgId,
      actor: input.actor,
      action: 'weight.set',
      details: { category, weightThousandths },
      at: ctx.clock.now(),
    });
  });
  return ok({ category, weightThousandths });
}

export async function listWeights(ctx: Ctx, input: { orgId: bigint }) {
  return (await usageRepo.listWeights(ctx.db.orm, input.orgId)).map((row) => ({
    category: row.category,
    weightThousandths: row.weightThousandths,
  }));
}

// ---------------------------------------------------------------------------------------------
// leaderboard

export interface LeaderboardEntry {
  memberId: bigint;
  displayName: string;
  rank: number;
  events: bigint;
  tokens: bigint;
  value: bigint;
  /** Null when the organisation hides money. */
  costMicros: bigint | null;
  /** Value-weighted tokens per unit of money; null when hidden or nothing was spent. */
  valuePerMoney: bigint | null;
}

export interface Leaderboard {
  window: LeaderboardWindow;
  /** Organisation-local dates [start, end). */
  period: { start: string; end: string };
  timeZone: string;
  hideMoney: boolean;
  topN: number;
  entries: LeaderboardEntry[];
  /** How many members are ranked (opted-out members are not). */
  ranked: number;
  /** The asker's own standing: ranked, not ranked yet (no usage), or opted out. */
  asker:
    | { state: 'ranked'; entry: LeaderboardEntry }
    | { state: 'no_usage' }
    | { state: 'opted_out' }
    | { state: 'not_a_member' };
}

export type LeaderboardFailure = 'leaderboard_disabled' | 'window_invalid' | 'organisation_not_found';

export const defaultLeaderboardSettings: LeaderboardSettingsView = {
  enabled: true,
  hideMoney: false,
  topN: 10,
  defaultWindow: 'week',
};

/**
 * The top members by value-weighted tokens over the current week, month or quarter (organisation
 * time zone, injected clock), read from the period totals: one row per member, so it stays fast
 * however many events there are.
 */
export async function getLeaderboard(
  ctx: Ctx,
  input: { orgId: bigint; askerId: bigint | null; window?: string },
): Promise<Result<Leaderboard, LeaderboardFailure>> {
  const organisation = await membersRepo.findOrganisationById(ctx.db.orm, input.orgId);
  if (!organisation) return fail('organisation_not_found');
  const settings = (await usageRepo.findLeaderboardSettings(ctx.db.orm, input.orgId)) ?? defaultLeaderboardSettings;
  if (!settings.enabled) return fail('leaderboard_disabled');
  const requested = input.window?.trim().toLowerCase() || settings.defaultWindow;
  if (!(leaderboardWindows as readonly string[]).includes(requested)) {
    return fail('window_invalid', { windows: leaderboardWindows });
  }
  const window = requested as LeaderboardWindow;
  const period = currentPeriod(window, ctx.clock.now(), organisation.timeZone);
  const { rows, ranked } = await usageRepo.rankPeriod(ctx.db.orm, {
    orgId: input.orgId,
    period: window,
    periodStart: period.start,
    topN: settings.topN,
    askerId: input.askerId,
  });
  const toEntry = (row: LeaderboardRow): LeaderboardEntry => ({
    memberId: row.memberId,
    displayName: row.displayName,
    rank: row.rank,
    events: row.events,
    tokens: row.tokens,
    value: row.value,
    costMicros: settings.hideMoney ? null : row.costMicros,
    valuePerMoney: settings.hideMoney ? null : valuePerMoney(row.value, row.costMicros),
  });
  const entries = rows.filter((row) => row.position <= settings.topN).map(toEntry);
  let asker: Leaderboard['asker'] = { state: 'not_a_member' };
  if (input.askerId !== null) {
    const own = rows.find((row) => row.memberId === input.askerId);
    if (own) asker = { state: 'ranked', entry: toEntry(own) };
    else {
      const member = await membersRepo.findMember(ctx.db.orm, input.orgId, input.askerId);
      asker = !member
        ? { state: 'not_a_member' }
        : member.leaderboardOptOut
          ? { state: 'opted_out' }
          : { state: 'no_usage' };
    }
  }
  return ok({
    window,
    period,
    timeZone: organisation.timeZone,
    hideMoney: settings.hideMoney,
    topN: settings.topN,
    entries,
    ranked,
    asker,
  });
}

export type LeaderboardOption =
  | { kind: 'off' }
  | { kind: 'on' }
  | { kind: 'hide-money' }
  | { kind: 'show-money' }
  | { kind: 'top'; n: number }
  | { kind: 'window'; window: LeaderboardWindow };

export interface LeaderboardSettingsView {
  enabled: boolean;
  hideMoney: boolean;
  topN: number;
  defaultWindow: LeaderboardWindow;
}

/** Admin settings: `/tokens leaderboard off|on|hide-money|show-money|top <n>`. */
export async function setLeaderboardOption(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; option: LeaderboardOption },
): Promise<Result<LeaderboardSettingsView, 'not_an_admin' | 'top_invalid'>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  const option = input.option;
  if (option.kind === 'top' && !(Number.isInteger(option.n) && option.n >= 1 && option.n <= leaderboardTopNMax)) {
    return fail('top_invalid', { max: leaderboardTopNMax });
  }
  const changes =
    option.kind === 'off'
      ? { enabled: false }
      : option.kind === 'on'
        ? { enabled: true }
        : option.kind === 'hide-money'
          ? { hideMoney: true }
          : option.kind === 'show-money'
            ? { hideMoney: false }
            : option.kind === 'top'
              ? { topN: option.n }
              : { defaultWindow: option.window };
  const saved = await ctx.db.orm.transaction(async (tx) => {
    const row = await usageRepo.upsertLeaderboardSettings(tx, { orgId: input.orgId, at: ctx.clock.now(), ...changes });
    await membersRepo.insertActorAudit(tx, {
      orgId: input.orgId,
      actor: input.actor,
      action: 'leaderboard.settings',
      details: changes,
      at: ctx.clock.now(),
    });
    return row;
  });
  return ok({
    enabled: saved.enabled,
    hideMoney: saved.hideMoney,
    topN: saved.topN,
    defaultWindow: saved.defaultWindow,
  });
}

/** `/tokens leaderboard opt-out|opt-in`: a member leaves or rejoins the leaderboard. */
export async function setLeaderboardOptOut(
  ctx: Ctx,
  input: { orgId: bigint; memberId: bigint; optOut: boolean; platform: Platform },
): Promise<Result<{ optOut: boolean }, 'member_not_found'>> {
  return ctx.db.orm.transaction(async (tx) => {
    const updated = await membersRepo.updateMember(tx, input.orgId, input.memberId, {
      leaderboardOptOut: input.optOut,
    });
    if (!updated) return fail('member_not_found');
    await membersRepo.insertAudit(tx, {
      orgId: input.orgId,
      actorMemberId: input.memberId,
      platform: input.platform,
      action: input.optOut ? 'leaderboard.opt_out' : 'leaderboard.opt_in',
      at: ctx.clock.now(),
    });
    return ok({ optOut: updated.leaderboardOptOut });
  });
}

// ---------------------------------------------------------------------------------------------
// usage by model, for /balance

export interface UsageByModel {
  window: LeaderboardWindow;
  period: { start: string; end: string };
  models: ModelUsageRow[];
  total: { events: bigint; tokens: bigint; value: bigint; costMicros: bigint };
}

/** A member's usage this period (the organisation-local month by default) per model, with money. */
export async function getUsageByModel(
  ctx: Ctx,
  input: { orgId: bigint; memberId: bigint; window?: LeaderboardWindow },
): Promise<Result<UsageByModel, 'organisation_not_found'>> {
  const organisation = await membersRepo.findOrganisationById(ctx.db.orm, input.orgId);
  if (!organisation) return fail('organisation_not_found');
  const window = input.window ?? 'month';
  const period = currentPeriod(window, ctx.clock.now(), organisation.timeZone);
  const models = await usageRepo.usageByModel(ctx.db.orm, {
    orgId: input.orgId,
    memberId: input.memberId,
    ...period,
  });
  const total = models.reduce(
    (sum, row) => ({
      events: sum.events + row.events,
      tokens: sum.tokens + row.tokens,
      value: sum.value + row.value,
      costMicros: sum.costMicros + row.costMicros,
    }),
    { events: 0n, tokens: 0n, value: 0n, costMicros: 0n },
  );
  return ok({ window, period, models, total });
}
