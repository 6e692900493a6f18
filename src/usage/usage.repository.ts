import { and, eq, sql } from 'drizzle-orm';
import { type Orm, queryRows } from '../db/client';
import { receivedCodes } from './limits.models';
import { lowBalanceAlerts, usageBatches } from './usage.tables';

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

/** Tokens held by open reservations on each of these wallets (accounts.held; migrations/0005). */
export async function heldOn(orm: Orm, orgId: bigint, walletIds: bigint[]): Promise<Map<bigint, bigint>> {
  if (walletIds.length === 0) return new Map();
  const rows = await queryRows<{ id: string; held: string }>(
    orm,
    sql`select a.id::text, a.held::text from accounts a
         where a.org_id = ${orgId.toString()}::bigint and a.id = any(${`{${walletIds.join(',')}}`}::bigint[])`,
  );
  return new Map(rows.map((row) => [BigInt(row.id), BigInt(row.held)]));
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
