import { and, asc, desc, eq, isNull, sql } from 'drizzle-orm';
import { type Orm, queryRows } from '../db/client';
import { receivedCodes } from './limits.models';
import { apiKeysListMax, leaderboardTopNMax, pricesListMax, usageModelsListMax } from './usage.models';
import {
  apiKeys,
  categoryWeights,
  type LeaderboardWindow,
  leaderboardSettings,
  lowBalanceAlerts,
  modelPrices,
  usageBatches,
} from './usage.tables';

export type ApiKey = typeof apiKeys.$inferSelect;
export type LeaderboardSettings = typeof leaderboardSettings.$inferSelect;

// ---------------------------------------------------------------------------------------------
// ingestion

/** A Postgres array literal of texts, each quoted and escaped (drizzle would expand a JS array). */
function pgTextArray(values: string[]): string {
  return `{${values.map((value) => `"${value.replace(/[\\"]/g, (char) => `\\${char}`)}"`).join(',')}}`;
}

export interface ResolvedUser {
  ref: string;
  memberId: bigint;
  walletId: bigint;
}

/** Members (with their wallet) behind emails, Slack user ids and Teams object ids, in one read. */
export async function resolveUsers(
  orm: Orm,
  orgId: bigint,
  refs: { emails: string[]; slackIds: string[]; teamsIds: string[] },
): Promise<ResolvedUser[]> {
  if (refs.emails.length + refs.slackIds.length + refs.teamsIds.length === 0) return [];
  const org = orgId.toString();
  const rows = await queryRows<{ ref: string; member_id: string; wallet_id: string }>(
    orm,
    // Each reference is one probe of a unique index (members by email, identities by platform id,
    // the wallet by member), so the cost follows the batch and not the organisation's size, even
    // before the planner has statistics: `limit 1` keeps each lateral lookup a per-row index probe
    // (the planner would otherwise flatten it into a join it may plan as a scan).
    sql`with found as (
          select 'e' || r.ref as ref, m.id as member_id
            from unnest(${pgTextArray(refs.emails)}::text[]) as r(ref)
            join lateral (select x.id from members x where x.org_id = ${org}::bigint and x.email = r.ref limit 1) m on true
          union all
          select 's' || r.ref, i.member_id
            from unnest(${pgTextArray(refs.slackIds)}::text[]) as r(ref)
            join lateral (select x.member_id from member_identities x
                           where x.org_id = ${org}::bigint and x.platform = 'slack' and x.external_id = r.ref limit 1) i on true
          union all
          select 't' || r.ref, i.member_id
            from unnest(${pgTextArray(refs.teamsIds)}::text[]) as r(ref)
            join lateral (select x.member_id from member_identities x
                           where x.org_id = ${org}::bigint and x.platform = 'teams' and x.external_id = r.ref limit 1) i on true
        )
        select f.ref, f.member_id::text, w.id::text as wallet_id
          from found f
          join lateral (select a.id from accounts a
                         where a.org_id = ${org}::bigint and a.kind = 'wallet' and a.member_id = f.member_id limit 1) w on true`,
  );
  const prefixes: Record<string, string> = { e: '', s: 'slack:', t: 'teams:' };
  return rows.map((row) => ({
    ref: `${prefixes[row.ref.slice(0, 1)]}${row.ref.slice(1)}`,
    memberId: BigInt(row.member_id),
    walletId: BigInt(row.wallet_id),
  }));
}

export interface StoredHashes {
  contentHash: string;
  /** Null for an event stored without one (it could not be written as JSON). */
  rawHash: string | null;
}

/** Content and raw hashes of the events among `eventIds` that are already stored. */
export async function findStoredHashes(
  orm: Orm,
  orgId: bigint,
  eventIds: string[],
): Promise<Map<string, StoredHashes>> {
  if (eventIds.length === 0) return new Map();
  const rows = await queryRows<{ event_id: string; content_hash: string; raw_hash: string | null }>(
    orm,
    // One primary-key probe per id (a lateral `limit 1` cannot be planned as a scan), so a replay
    // costs the same however many events the organisation has, statistics or not.
    sql`select u.event_id, u.content_hash, u.raw_hash
          from unnest(${pgTextArray(eventIds)}::text[]) as r(event_id)
          join lateral (select e.event_id, e.content_hash, e.raw_hash from usage_events e
                         where e.org_id = ${orgId.toString()}::bigint and e.event_id = r.event_id limit 1) u on true`,
  );
  const stored = new Map<string, StoredHashes>();
  for (const row of rows) stored.set(row.event_id, { contentHash: row.content_hash, rawHash: row.raw_hash });
  return stored;
}

/** Whether a batch with this digest was accepted whole before (see usageBatches). */
export async function isBatchStored(orm: Orm, orgId: bigint, digest: string): Promise<boolean> {
  const rows = await orm
    .select({ digest: usageBatches.digest })
    .from(usageBatches)
    .where(and(eq(usageBatches.orgId, orgId), eq(usageBatches.digest, digest)))
    .limit(1);
  return rows.length > 0;
}

/** Records a batch accepted whole, in the transaction that stored its events. */
export async function insertBatch(
  orm: Orm,
  input: { orgId: bigint; digest: string; events: number; recordedAt: Date },
): Promise<void> {
  await orm.insert(usageBatches).values(input).onConflictDoNothing();
}

export interface BatchEvent {
  idx: number;
  eventId: string;
  opKey: string;
  contentHash: string;
  rawHash: string | null;
  memberId: bigint;
  walletId: bigint;
  model: string;
  category: string;
  inputTokens: bigint;
  outputTokens: bigint;
  eventAt: Date;
}

export interface BatchOutcome {
  events: { idx: number; status: 'accepted' | 'duplicate' | 'conflict'; costMicros: bigint | null; priced: boolean }[];
  wallets: { walletId: bigint; balanceAfter: bigint; debited: bigint }[];
}

/** One round trip: allot_ingest_usage stores, prices, debits and rolls up a batch (migrations/0001_functions.sql). */
export async function ingestBatch(
  orm: Orm,
  input: {
    orgId: bigint;
    timeZone: string;
    usageAccountId: bigint;
    platform: string;
    recordedAt: Date;
    events: BatchEvent[];
  },
): Promise<BatchOutcome> {
  const payload = JSON.stringify(
    input.events.map((event) => ({
      idx: event.idx,
      event_id: event.eventId,
      op_key: event.opKey,
      content_hash: event.contentHash,
      raw_hash: event.rawHash,
      member_id: event.memberId.toString(),
      wallet_id: event.walletId.toString(),
      model: event.model,
      category: event.category,
      input_tokens: event.inputTokens.toString(),
      output_tokens: event.outputTokens.toString(),
      event_at: event.eventAt.toISOString(),
    })),
  );
  const rows = await queryRows<{
    o_kind: 'event' | 'wallet';
    o_index: number | null;
    o_status: 'accepted' | 'duplicate' | 'conflict' | null;
    o_account: string | null;
    o_balance: string | null;
    o_amount: string | null;
  }>(
    orm,
    sql`select * from allot_ingest_usage(${input.orgId.toString()}::bigint, ${input.timeZone},
          ${input.usageAccountId.toString()}::bigint, ${input.platform}, ${input.recordedAt.toISOString()}::timestamptz,
          ${payload}::jsonb)`,
  );
  const outcome: BatchOutcome = { events: [], wallets: [] };
  for (const row of rows) {
    if (row.o_kind === 'event') {
      const amount = row.o_amount === null ? null : BigInt(row.o_amount);
      outcome.events.push({
        idx: Number(row.o_index),
        status: row.o_status!,
        costMicros: amount === null || amount < 0n ? (amount === null ? null : 0n) : amount,
        priced: amount !== null && amount >= 0n,
      });
    } else {
      outcome.wallets.push({
        walletId: BigInt(row.o_account!),
        balanceAfter: BigInt(row.o_balance!),
        debited: BigInt(row.o_amount!),
      });
    }
  }
  return outcome;
}

// ---------------------------------------------------------------------------------------------
// API keys

export async function insertApiKey(
  orm: Orm,
  input: {
    orgId: bigint;
    name: string;
    keyHash: string;
    keyPrefix: string;
    createdByMemberId: bigint | null;
    createdAt: Date;
  },
): Promise<ApiKey> {
  const [row] = await orm.insert(apiKeys).values(input).returning();
  return row!;
}

export async function findLiveApiKeyByName(orm: Orm, orgId: bigint, name: string): Promise<ApiKey | undefined> {
  const [row] = await orm
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.name, name), isNull(apiKeys.revokedAt)))
    .limit(1);
  return row;
}

export async function findLiveApiKeyByHash(orm: Orm, keyHash: string): Promise<ApiKey | undefined> {
  const [row] = await orm
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)))
    .limit(1);
  return row;
}

export async function listApiKeys(orm: Orm, orgId: bigint): Promise<ApiKey[]> {
  return orm
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.orgId, orgId))
    .orderBy(sql`${apiKeys.revokedAt} is not null`, asc(apiKeys.name), desc(apiKeys.createdAt))
    .limit(apiKeysListMax);
}

export async function revokeApiKey(orm: Orm, orgId: bigint, name: string, at: Date): Promise<ApiKey | undefined> {
  const [row] = await orm
    .update(apiKeys)
    .set({ revokedAt: at })
    .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.name, name), isNull(apiKeys.revokedAt)))
    .returning();
  return row;
}

// ---------------------------------------------------------------------------------------------
// prices and weights

export async function upsertPrice(
  orm: Orm,
  input: {
    orgId: bigint;
    model: string;
    effectiveFrom: Date;
    inputMicrosPerMillion: bigint;
    outputMicrosPerMillion: bigint;
    createdByMemberId: bigint | null;
  },
): Promise<void> {
  await orm
    .insert(modelPrices)
    .values(input)
    .onConflictDoUpdate({
      target: [modelPrices.orgId, modelPrices.model, modelPrices.effectiveFrom],
      set: {
        inputMicrosPerMillion: input.inputMicrosPerMillion,
        outputMicrosPerMillion: input.outputMicrosPerMillion,
        createdByMemberId: input.createdByMemberId,
      },
    });
}

export interface PriceRow {
  model: string;
  effectiveFrom: Date;
  inputMicrosPerMillion: bigint;
  outputMicrosPerMillion: bigint;
  source: 'organisation' | 'seed';
}

/** The organisation's own dated prices, then the seed prices of models it has not priced itself. */
export async function listPrices(orm: Orm, orgId: bigint): Promise<PriceRow[]> {
  const rows = await queryRows<{
    model: string;
    effective_from: string | Date;
    input_micros: string;
    output_micros: string;
    source: 'organisation' | 'seed';
  }>(
    orm,
    sql`select model, effective_from, input_micros_per_million::text as input_micros,
               output_micros_per_million::text as output_micros, 'organisation' as source
          from model_prices where org_id = ${orgId.toString()}::bigint
        union all
        select s.model, s.effective_from, s.input_micros_per_million::text, s.output_micros_per_million::text, 'seed'
          from model_price_seeds s
         where not exists (select 1 from model_prices p where p.org_id = ${orgId.toString()}::bigint and p.model = s.model)
        order by model, effective_from
        limit ${pricesListMax}`,
  );
  return rows.map((row) => ({
    model: row.model,
    effectiveFrom: new Date(row.effective_from),
    inputMicrosPerMillion: BigInt(row.input_micros),
    outputMicrosPerMillion: BigInt(row.output_micros),
    source: row.source,
  }));
}

export async function upsertWeight(
  orm: Orm,
  input: { orgId: bigint; category: string; weightThousandths: number; at: Date },
) {
  await orm
    .insert(categoryWeights)
    .values({
      orgId: input.orgId,
      category: input.category,
      weightThousandths: input.weightThousandths,
      updatedAt: input.at,
    })
    .onConflictDoUpdate({
      target: [categoryWeights.orgId, categoryWeights.category],
      set: { weightThousandths: input.weightThousandths, updatedAt: input.at },
    });
}

export async function listWeights(orm: Orm, orgId: bigint) {
  return orm
    .select()
    .from(categoryWeights)
    .where(eq(categoryWeights.orgId, orgId))
    .orderBy(asc(categoryWeights.category))
    .limit(pricesListMax);
}

// ---------------------------------------------------------------------------------------------
// leaderboard

export async function findLeaderboardSettings(orm: Orm, orgId: bigint): Promise<LeaderboardSettings | undefined> {
  const [row] = await orm.select().from(leaderboardSettings).where(eq(leaderboardSettings.orgId, orgId)).limit(1);
  return row;
}

export async function upsertLeaderboardSettings(
  orm: Orm,
  input: { orgId: bigint; at: Date } & Partial<
    Pick<LeaderboardSettings, 'enabled' | 'hideMoney' | 'topN' | 'defaultWindow'>
  >,
): Promise<LeaderboardSettings> {
  const { orgId, at, ...changes } = input;
  const [row] = await orm
    .insert(leaderboardSettings)
    .values({ orgId, updatedAt: at, ...changes })
    .onConflictDoUpdate({ target: leaderboardSettings.orgId, set: { ...changes, updatedAt: at } })
    .returning();
  return row!;
}

export interface LeaderboardRow {
  memberId: bigint;
  displayName: string;
  rank: number;
  position: number;
  events: bigint;
  tokens: bigint;
  value: bigint;
  costMicros: bigint;
}

/**
 * The ranked members of one period: equal value shares a rank (1, 1, 3); within a rank the order
 * is by member id (who joined first), so it never changes between reads. Opted-out, deactivated and bot
 * members are left out before ranking. Returns the first `topN` and, if further down, the asker's own row.
 */
export async function rankPeriod(
  orm: Orm,
  input: { orgId: bigint; period: LeaderboardWindow; periodStart: string; topN: number; askerId: bigint | null },
): Promise<{ rows: LeaderboardRow[]; ranked: number }> {
  const topN = Math.max(1, Math.min(input.topN, leaderboardTopNMax));
  const rows = await queryRows<{
    member_id: string;
    display_name: string;
    rnk: string;
    pos: string;
    events: string;
    tokens: string;
    value: string;
    cost_micros: string;
    ranked: string;
  }>(
    orm,
    // Ranks on (value, member id) alone, reading names only for the rows shown: text comparisons
    // under a locale collation cost more than everything else here put together.
    sql`with totals as (
          select t.member_id, t.value
            from usage_period_totals t
           where t.org_id = ${input.orgId.toString()}::bigint and t.period = ${input.period}
             and t.period_start = ${input.periodStart}::date
             and not exists (select 1 from members x
                              where x.org_id = t.org_id and x.id = t.member_id
                                and (x.leaderboard_opt_out or x.is_bot or not x.is_active))
        ), ranked as (
          select member_id, rank() over (order by value desc) as rnk,
                 row_number() over (order by value desc, member_id) as pos,
                 count(*) over () as ranked
            from totals
        )
        select r.member_id::text, m.display_name, r.rnk::text, r.pos::text, t.events::text, t.tokens::text,
               t.value::text, t.cost_micros::text, r.ranked::text
          from ranked r
          join usage_period_totals t on t.org_id = ${input.orgId.toString()}::bigint and t.period = ${input.period}
                                    and t.period_start = ${input.periodStart}::date and t.member_id = r.member_id
          join members m on m.org_id = t.org_id and m.id = r.member_id
         where r.pos <= ${topN} or r.member_id = ${input.askerId?.toString() ?? null}::bigint
         order by r.pos`,
  );
  return {
    ranked: rows.length > 0 ? Number(rows[0]!.ranked) : 0,
    rows: rows.map((row) => ({
      memberId: BigInt(row.member_id),
      displayName: row.display_name,
      rank: Number(row.rnk),
      position: Number(row.pos),
      events: BigInt(row.events),
      tokens: BigInt(row.tokens),
      value: BigInt(row.value),
      costMicros: BigInt(row.cost_micros),
    })),
  };
}

export interface ModelUsageRow {
  model: string;
  events: bigint;
  inputTokens: bigint;
  outputTokens: bigint;
  tokens: bigint;
  value: bigint;
  costMicros: bigint;
}

/** One member's usage per model over local days [start, end), largest cost first. */
export async function usageByModel(
  orm: Orm,
  input: { orgId: bigint; memberId: bigint; start: string; end: string },
): Promise<ModelUsageRow[]> {
  const rows = await queryRows<Record<string, string>>(
    orm,
    sql`select model, sum(events)::text as events, sum(input_tokens)::text as input_tokens,
               sum(output_tokens)::text as output_tokens, sum(tokens)::text as tokens, sum(value)::text as value,
               sum(cost_micros)::text as cost_micros
          from usage_daily_rollups
         where org_id = ${input.orgId.toString()}::bigint and member_id = ${input.memberId.toString()}::bigint
           and day >= ${input.start}::date and day < ${input.end}::date
         group by model
         order by sum(cost_micros) desc, sum(tokens) desc, model
         limit ${usageModelsListMax}`,
  );
  return rows.map((row) => ({
    model: row.model!,
    events: BigInt(row.events!),
    inputTokens: BigInt(row.input_tokens!),
    outputTokens: BigInt(row.output_tokens!),
    tokens: BigInt(row.tokens!),
    value: BigInt(row.value!),
    costMicros: BigInt(row.cost_micros!),
  }));
}

/** The whole organisation's tokens and cost over one period of `usage_period_totals` (starting on local day `start`). */
export async function organisationPeriodTotals(
  orm: Orm,
  input: { orgId: bigint; period: 'week' | 'month' | 'quarter'; start: string },
): Promise<{ tokens: bigint; costMicros: bigint }> {
  const [row] = await queryRows<{ tokens: string | null; cost: string | null }>(
    orm,
    sql`select sum(tokens)::text as tokens, sum(cost_micros)::text as cost from usage_period_totals
         where org_id = ${input.orgId} and period = ${input.period} and period_start = ${input.start}::date`,
  );
  return { tokens: BigInt(row?.tokens ?? 0), costMicros: BigInt(row?.cost ?? 0) };
}

// ---------------------------------------------------------------------------------------------
// low-balance alerts

/** `receivedCodes` as a SQL list, for `t.code in (…)`: the one place the rule meets SQL. */
export function receivedCodesSql() {
  return sql.join(
    receivedCodes.map((code) => sql`${code}`),
    sql`, `,
  );
}

/**
 * What each wallet received since `since`: its credits by the `receivedCodes` of limits.models (grants,
 * top-ups, allowances; not reversals), the base of "near the limit".
 */
export async function receivedSince(
  orm: Orm,
  orgId: bigint,
  walletIds: bigint[],
  since: Date,
): Promise<Map<bigint, bigint>> {
  if (walletIds.length === 0) return new Map();
  const rows = await queryRows<{ account_id: string; total: string }>(
    orm,
    // Per wallet, a scan of its own credits by index (org, credit account), never of the whole table.
    sql`select w.id::text as account_id, coalesce(s.total, 0)::text as total
          from unnest(${`{${walletIds.join(',')}}`}::bigint[]) as w(id)
          cross join lateral (
            select sum(t.amount) as total from transfers t
             where t.org_id = ${orgId.toString()}::bigint and t.credit_account_id = w.id
               and t.code in (${receivedCodesSql()})
               and t.created_at >= ${since.toISOString()}::timestamptz
          ) s`,
  );
  return new Map(rows.map((row) => [BigInt(row.account_id), BigInt(row.total)]));
}

/** Records an alert; false when that member already had it this period. */
export async function recordAlert(
  orm: Orm,
  input: { orgId: bigint; memberId: bigint; period: string; threshold: string; balance: bigint; at: Date },
): Promise<boolean> {
  const rows = await orm
    .insert(lowBalanceAlerts)
    .values({ ...input, createdAt: input.at })
    .onConflictDoNothing()
    .returning({ memberId: lowBalanceAlerts.memberId });
  return rows.length > 0;
}
