import { sql } from 'drizzle-orm';
import { type Orm, queryRows } from '../db/client';

// Reads of lots (lots.tables.ts) for people: what expires next in a wallet or a budget, and the lots
// expiring soon on the dashboard's Me page. "Expiring" tokens of a lot are what its expiry will move to
// `expired`: what remains, less what an allowance lot rolls over. Lots already due but not yet swept
// are left out (the sweeper is about to expire them). The writes are the ledger's SQL (allot_post).

/** Most lots listed at once (the Me page), and most accounts asked about in one read. */
export const expiringLotsListedMax = 50;
const accountsPerReadMax = 100;

/** The tokens of a lot that its expiry will move to `expired`, in SQL. */
const expiringSql = sql.raw('greatest(l.remaining - coalesce(l.rollover_tokens, 0), 0)');

/**
 * For each account, when its soonest live lot with tokens to expire expires, after `after`. Accounts
 * with none are absent. Reads the live-lots index (org, account, expiry) only.
 */
export async function firstExpiries(
  orm: Orm,
  input: { orgId: bigint; accountIds: bigint[]; after: Date },
): Promise<Map<bigint, Date>> {
  const accountIds = input.accountIds.slice(0, accountsPerReadMax);
  if (accountIds.length === 0) return new Map();
  const rows = await queryRows<{ account_id: string; expires_at: string | Date }>(
    orm,
    sql`select l.account_id::text as account_id, min(l.expires_at) as expires_at from lots l
         where l.org_id = ${input.orgId} and l.account_id in (${sql.join(
           accountIds.map((id) => sql`${id}`),
           sql`, `,
         )})
           and l.live and l.expires_at > ${input.after.toISOString()}::timestamptz and ${expiringSql} > 0
         group by l.account_id`,
  );
  return new Map(rows.map((row) => [BigInt(row.account_id), new Date(row.expires_at)]));
}

/** For each (account, until), the tokens of its live lots expiring in (after, until]. */
export async function expiringTokens(
  orm: Orm,
  input: { orgId: bigint; windows: { accountId: bigint; until: Date }[]; after: Date },
): Promise<Map<bigint, bigint>> {
  const windows = input.windows.slice(0, accountsPerReadMax);
  if (windows.length === 0) return new Map();
  const rows = await queryRows<{ account_id: string; tokens: string }>(
    orm,
    sql`select l.account_id::text as account_id, sum(${expiringSql})::text as tokens
          from (values ${sql.join(
            windows.map((w) => sql`(${w.accountId}::bigint, ${w.until.toISOString()}::timestamptz)`),
            sql`, `,
          )}) as w(account_id, until)
          join lots l on l.org_id = ${input.orgId} and l.account_id = w.account_id
         where l.live and l.expires_at > ${input.after.toISOString()}::timestamptz and l.expires_at <= w.until
         group by l.account_id`,
  );
  return new Map(rows.map((row) => [BigInt(row.account_id), BigInt(row.tokens)]));
}

export interface ExpiringLot {
  lotId: bigint;
  expiresAt: Date;
  /** What its expiry will move to `expired`. */
  tokens: bigint;
  /** The memo of the transfer that credited it (a grant's reason); empty for none. */
  memo: string;
  /** The code of that transfer (`grant`, `topup`, `allocate`, …); null for an opening lot. */
  code: string | null;
}

/** The live lots of an account with tokens to expire after `after`, soonest first, at most `limit`. */
export async function listExpiringLots(
  orm: Orm,
  input: { orgId: bigint; accountId: bigint; after: Date; limit: number },
): Promise<ExpiringLot[]> {
  const limit = Math.max(1, Math.min(input.limit, expiringLotsListedMax));
  const rows = await queryRows<{
    id: string;
    expires_at: string | Date;
    tokens: string;
    memo: string | null;
    code: string | null;
  }>(
    orm,
    sql`select l.id::text as id, l.expires_at, ${expiringSql}::text as tokens, t.memo, t.code
          from lots l
          left join transfers t on t.org_id = l.org_id and t.id = l.transfer_id
         where l.org_id = ${input.orgId} and l.account_id = ${input.accountId} and l.live
           and l.expires_at > ${input.after.toISOString()}::timestamptz and ${expiringSql} > 0
         order by l.expires_at, l.id
         limit ${limit}`,
  );
  return rows.map((row) => ({
    lotId: BigInt(row.id),
    expiresAt: new Date(row.expires_at),
    tokens: BigInt(row.tokens),
    memo: row.memo ?? '',
    code: row.code,
  }));
}

/** A member's wallet tokens expiring in a window, with their manager, for the manager's digest note. */
export interface ExpiringReport {
  memberId: bigint;
  name: string;
  managerId: bigint;
  tokens: bigint;
  /** When the first of them expires. */
  firstExpiresAt: Date;
  /** The member's zone, else the organisation's. */
  timeZone: string;
}

/**
 * Active members with a manager whose wallet lots expire in (after, until], with how many tokens, most
 * first, at most `limit`.
 */
export async function expiringByReport(
  orm: Orm,
  input: { orgId: bigint; after: Date; until: Date; limit: number },
): Promise<ExpiringReport[]> {
  const rows = await queryRows<{
    member_id: string;
    name: string;
    manager_id: string;
    tokens: string;
    first: string | Date;
    time_zone: string;
  }>(
    orm,
    sql`select m.id::text as member_id, m.display_name as name, m.manager_id::text as manager_id,
               sum(${expiringSql})::text as tokens, min(l.expires_at) as first,
               coalesce(m.time_zone, o.time_zone) as time_zone
          from lots l
          join accounts a on a.org_id = l.org_id and a.id = l.account_id and a.kind = 'wallet'
          join members m on m.org_id = l.org_id and m.id = l.member_id
          join organisations o on o.id = l.org_id
         where l.org_id = ${input.orgId} and l.live
           and l.expires_at > ${input.after.toISOString()}::timestamptz
           and l.expires_at <= ${input.until.toISOString()}::timestamptz
           and ${expiringSql} > 0 and m.is_active and m.manager_id is not null
         group by m.id, m.display_name, m.manager_id, m.time_zone, o.time_zone
         order by sum(${expiringSql}) desc, m.id
         limit ${Math.max(1, Math.min(input.limit, 500))}`,
  );
  return rows.map((row) => ({
    memberId: BigInt(row.member_id),
    name: row.name,
    managerId: BigInt(row.manager_id),
    tokens: BigInt(row.tokens),
    firstExpiresAt: new Date(row.first),
    timeZone: row.time_zone,
  }));
}
