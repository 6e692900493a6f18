import { type SQL, sql } from 'drizzle-orm';
import { type Orm, queryRows, queryRowsPrepared } from '../db/client';
import { receivedCodes } from './limits.models';
import { lowBalanceAlerts } from './usage.tables';

// ---------------------------------------------------------------------------------------------
// ingestion

const arraySpecial = /[\\"]/;

/** One element of a Postgres array literal of texts: quoted (and escaped), null as NULL. */
function arrayText(value: string | null | undefined): string {
  if (value === null || value === undefined) return 'NULL';
  return arraySpecial.test(value) ? `"${value.replace(/[\\"]/g, (char) => `\\${char}`)}"` : `"${value}"`;
}

/** A Postgres array literal of texts (drizzle would expand a JS array). */
function pgTextArray(values: readonly (string | null | undefined)[]): string {
  let text = '{';
  for (let index = 0; index < values.length; index++) text += `${index === 0 ? '' : ','}${arrayText(values[index])}`;
  return `${text}}`;
}

export interface ResolvedUser {
  /** The user as normalised text: a lower-cased email, `slack:U…` or `teams:<object id>` (userRefText). */
  ref: string;
  memberId: bigint;
  walletId: bigint;
}

/**
 * Members (with their wallet) behind the references of a CTE named `user_refs(ref)` (user texts, as
 * ResolvedUser.ref), as a query with columns ref, member_id, wallet_id; unknown references have no row.
 * Each reference is one probe of a unique index (members by email, identities by platform id, the
 * wallet by member), so the cost follows the batch and not the organisation's size, even before the
 * planner has statistics: `limit 1` keeps each lateral lookup a per-row index probe (the planner would
 * otherwise flatten it into a join it may plan as a scan). An email never starts with `slack:` or
 * `teams:` (parseUser), so the prefix says which index a reference is looked up in.
 */
function membersOfUserRefs(org: SQL): SQL {
  return sql`select f.ref, f.member_id, w.id as wallet_id
          from (
            select r.ref, m.id as member_id
              from user_refs r
              join lateral (select x.id from members x where x.org_id = ${org} and x.email = r.ref limit 1) m on true
             where r.ref not like 'slack:%' and r.ref not like 'teams:%'
            union all
            select r.ref, i.member_id
              from user_refs r
              join lateral (select x.member_id from member_identities x
                             where x.org_id = ${org} and x.platform = 'slack' and x.external_id = substr(r.ref, 7)
                             limit 1) i on true
             where r.ref like 'slack:%'
            union all
            select r.ref, i.member_id
              from user_refs r
              join lateral (select x.member_id from member_identities x
                             where x.org_id = ${org} and x.platform = 'teams' and x.external_id = substr(r.ref, 7)
                             limit 1) i on true
             where r.ref like 'teams:%'
          ) f
          join lateral (select a.id from accounts a
                         where a.org_id = ${org} and a.kind = 'wallet' and a.member_id = f.member_id limit 1) w on true`;
}

/** Members (with their wallet) behind user texts (emails, `slack:U…`, `teams:<id>`), in one read. */
export async function resolveUsers(orm: Orm, orgId: bigint, refs: string[]): Promise<ResolvedUser[]> {
  if (refs.length === 0) return [];
  const org = sql`${orgId.toString()}::bigint`;
  const rows = await queryRows<{ ref: string; member_id: string; wallet_id: string }>(
    orm,
    sql`with user_refs as materialized (select distinct r.ref from unnest(${pgTextArray(refs)}::text[]) as r(ref))
        select u.ref, u.member_id::text, u.wallet_id::text from (${membersOfUserRefs(org)}) u`,
  );
  return rows.map((row) => ({ ref: row.ref, memberId: BigInt(row.member_id), walletId: BigInt(row.wallet_id) }));
}

export interface StoredHashes {
  contentHash: string;
  /** Null for an event stored without one (it could not be written as JSON). */
  rawHash: string | null;
}

/** What a batch needs first: its organisation's time zone and usage account, and whether it was accepted whole before. */
export interface BatchStart {
  timeZone: string;
  /** A batch with this digest was accepted whole before: every event of it is a duplicate. */
  resent: boolean;
  /** The stripes of the organisation's usage account (ledgerRepo.pickUsageStripe chooses the batch's). */
  usageStripes: { id: bigint; stripe: number }[];
}

/**
 * The organisation (undefined: none), the stripes of its usage account, and whether a batch with this
 * digest was accepted whole before (see usageBatches; undefined digest: never), in one small read:
 * key probes, its parameters two short texts, so its answer comes back before the events' checks have
 * gone far and a replay is answered without checking them (ingestUsage).
 */
export async function findBatchStart(
  orm: Orm,
  orgId: bigint,
  digest: string | undefined,
): Promise<BatchStart | undefined> {
  const [row] = await queryRowsPrepared<{ time_zone: string; resent: boolean; stripes: string | null }>(
    orm,
    sql`select o.time_zone,
               exists (select 1 from usage_batches b where b.org_id = o.id and b.digest = ${digest ?? null}::text) as resent,
               (select string_agg(a.id::text || ':' || a.stripe::text, ',') from accounts a
                 where a.org_id = o.id and a.kind = 'usage' and a.member_id is null) as stripes
          from organisations o where o.id = ${orgId.toString()}::bigint`,
  );
  if (!row) return undefined;
  const usageStripes = (row.stripes ?? '').split(',').flatMap((pair) => {
    const [id, stripe] = pair.split(':');
    return id && stripe ? [{ id: BigInt(id), stripe: Number(stripe) }] : [];
  });
  return { timeZone: row.time_zone, resent: row.resent === true, usageStripes };
}

/** What is known of a batch before it is checked (findKnownEvents). */
export interface KnownEvents {
  /** A batch with this digest was accepted whole before: every event of it is a duplicate. */
  resent: boolean;
  /** The stored events among the batch's ids (none when resent). */
  stored: Map<string, StoredHashes>;
  /** The members behind the users of the events whose ids are not stored (none when resent). */
  users: Map<string, ResolvedUser>;
}

/**
 * What is already known of a batch, in one read: whether a batch with this digest was accepted whole
 * before (see usageBatches; undefined digest: never), and if not, the content and raw hashes of the
 * events among `events` whose ids are already stored, and the members behind the users (`ref`, the
 * user as validation will read it; undefined: none) of the others. A resent batch costs one probe: the
 * rest sits behind a one-time filter on the digest's answer. One primary-key probe per event id (a
 * lateral `limit 1`), so this costs the same however many events the organisation has, once the table
 * has statistics (a plan made on a new, never analysed table may scan; src/db/maintenance.ts).
 */
export async function findKnownEvents(
  orm: Orm,
  orgId: bigint,
  input: { events: { id: string; ref: string | undefined }[]; digest: string | undefined },
): Promise<KnownEvents> {
  const org = sql`${orgId.toString()}::bigint`;
  const rows = await queryRowsPrepared<{ kind: 'resent' | 'stored' | 'user'; a: string; b: string; c: string | null }>(
    orm,
    sql`with resent as materialized (
          select exists (select 1 from usage_batches b where b.org_id = ${org} and b.digest = ${input.digest ?? null}::text) as hit
        ), sent as materialized (
          select r.event_id, r.ref, u.content_hash, u.raw_hash
            from unnest(${pgTextArray(input.events.map((event) => event.id))}::text[],
                        ${pgTextArray(input.events.map((event) => event.ref ?? null))}::text[]) as r(event_id, ref)
            left join lateral (select e.content_hash, e.raw_hash from usage_events e
                                where e.org_id = ${org} and e.event_id = r.event_id limit 1) u on true
           where not (select hit from resent)
        ), user_refs as materialized (
          select distinct s.ref from sent s where s.content_hash is null and s.ref is not null
        )
        select 'resent' as kind, null::text as a, null::text as b, null::text as c from resent where resent.hit
        union all
        select 'stored', s.event_id, s.content_hash, s.raw_hash from sent s where s.content_hash is not null
        union all
        select 'user', u.ref, u.member_id::text, u.wallet_id::text from (${membersOfUserRefs(org)}) u`,
  );
  const known: KnownEvents = { resent: false, stored: new Map(), users: new Map() };
  for (const row of rows) {
    if (row.kind === 'resent') known.resent = true;
    else if (row.kind === 'stored') known.stored.set(row.a, { contentHash: row.b, rawHash: row.c });
    else known.users.set(row.a, { ref: row.a, memberId: BigInt(row.b), walletId: BigInt(row.c!) });
  }
  return known;
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
  /** The event's time as ISO 8601 (`toISOString`). */
  eventAt: string;
}

/** A batch as one Postgres array literal per field (sent as text, parsed by the server), in one pass. */
function batchArrays(events: readonly BatchEvent[]) {
  const a = {
    idx: '',
    eventId: '',
    opKey: '',
    contentHash: '',
    rawHash: '',
    memberId: '',
    walletId: '',
    model: '',
    category: '',
    inputTokens: '',
    outputTokens: '',
    eventAt: '',
  };
  for (let index = 0; index < events.length; index++) {
    const event = events[index]!;
    const comma = index === 0 ? '' : ',';
    a.idx += `${comma}${event.idx}`;
    a.eventId += `${comma}${arrayText(event.eventId)}`;
    a.opKey += `${comma}${arrayText(event.opKey)}`;
    a.contentHash += `${comma}${arrayText(event.contentHash)}`;
    a.rawHash += `${comma}${arrayText(event.rawHash)}`;
    a.memberId += `${comma}${event.memberId}`;
    a.walletId += `${comma}${event.walletId}`;
    a.model += `${comma}${arrayText(event.model)}`;
    a.category += `${comma}${arrayText(event.category)}`;
    a.inputTokens += `${comma}${event.inputTokens}`;
    a.outputTokens += `${comma}${event.outputTokens}`;
    a.eventAt += `${comma}${arrayText(event.eventAt)}`;
  }
  for (const key of Object.keys(a) as (keyof typeof a)[]) a[key] = `{${a[key]}}`;
  return a;
}

export interface BatchOutcome {
  events: { idx: number; status: 'accepted' | 'duplicate' | 'conflict'; costMicros: bigint | null; priced: boolean }[];
  wallets: { walletId: bigint; balanceAfter: bigint; debited: bigint }[];
}

/**
 * One round trip and one prepared statement (so one transaction of its own): allot_ingest_usage stores, prices,
 * debits and rolls up a batch; with a `digest`, the same
 * statement records the batch as accepted whole (usage_batches) unless an event of it was a conflict.
 * The function takes the batch as one array per field (migrations/0013_ingest_usage_arrays.sql).
 */
export async function ingestBatch(
  orm: Orm,
  input: {
    orgId: bigint;
    timeZone: string;
    usageAccountId: bigint;
    platform: string;
    recordedAt: Date;
    events: BatchEvent[];
    batch?: { digest: string; events: number };
  },
): Promise<BatchOutcome> {
  const org = input.orgId.toString();
  const recordedAt = input.recordedAt.toISOString();
  const a = batchArrays(input.events);
  const posted = sql`select * from allot_ingest_usage(${org}::bigint, ${input.timeZone},
          ${input.usageAccountId.toString()}::bigint, ${input.platform}, ${recordedAt}::timestamptz,
          ${a.idx}::int[], ${a.eventId}::text[], ${a.opKey}::text[], ${a.contentHash}::text[], ${a.rawHash}::text[],
          ${a.memberId}::bigint[], ${a.walletId}::bigint[], ${a.model}::text[], ${a.category}::text[],
          ${a.inputTokens}::bigint[], ${a.outputTokens}::bigint[], ${a.eventAt}::timestamptz[])`;
  const rows = await queryRowsPrepared<{
    o_kind: 'event' | 'wallet';
    o_index: number | null;
    o_status: 'accepted' | 'duplicate' | 'conflict' | null;
    o_account: string | null;
    o_balance: string | null;
    o_amount: string | null;
  }>(
    orm,
    input.batch === undefined
      ? posted
      : // The function runs once (a WITH query that calls a volatile function is evaluated once), and
        // a data-modifying WITH query runs to completion whether or not the answer reads it.
        sql`with posted as (${posted}),
                 recorded as (
                   insert into usage_batches (org_id, digest, events, recorded_at)
                   select ${org}::bigint, ${input.batch.digest}, ${input.batch.events}, ${recordedAt}::timestamptz
                    where not exists (select 1 from posted p where p.o_status = 'conflict')
                   on conflict do nothing
                 )
            select * from posted`,
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

/**
 * Records alerts in one statement, each at most once per member, period and threshold; answers the keys
 * (`alertKey(memberId, threshold)`) of those recorded now, not those a member already had.
 */
export async function recordAlerts(
  orm: Orm,
  alerts: readonly { orgId: bigint; memberId: bigint; period: string; threshold: string; balance: bigint; at: Date }[],
): Promise<Set<string>> {
  if (alerts.length === 0) return new Set();
  const rows = await orm
    .insert(lowBalanceAlerts)
    .values(alerts.map(({ at, ...alert }) => ({ ...alert, createdAt: at })))
    .onConflictDoNothing()
    .returning({ memberId: lowBalanceAlerts.memberId, threshold: lowBalanceAlerts.threshold });
  return new Set(rows.map((row) => alertKey(row.memberId, row.threshold)));
}

/** The key of a recorded alert in recordAlerts' answer. */
export const alertKey = (memberId: bigint, threshold: string) => `${memberId}:${threshold}`;
