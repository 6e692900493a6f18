import { performance } from 'node:perf_hooks';
import type postgres from 'postgres';

// The floor of bench:usage: only the writes the issue requires for one batch of new events, as bare SQL
// from ready arrays — the events, one usage transfer and one balance update per member, the lot each
// member's debit draws (issue 16: its remaining lowered, one lot_draws row), the usage account and the
// daily rollups — with no validation, pricing, locking order, lot choice, period totals or JavaScript,
// in one transaction that is rolled back, so it does not even pay for its commit. What ingestion can
// reach on this machine is below this. Each member's debit draws one lot (their wallet's first in the
// burn-down order, chosen before the clock starts): the common case, a debit that fits in one lot;
// a debit spread over several lots writes more. One statement per write, each from arrays, except
// that the draws are inserted by the statement that inserts the transfers (they need its ids).

/** Where the floor writes: the organisation, its usage account, and each member's wallet by email. */
export interface FloorTarget {
  orgId: bigint;
  usageAccountId: string;
  walletByEmail: Map<string, string>;
  memberByEmail: Map<string, string>;
  /** Each member's lot a debit draws first: their wallet's first live lot in the burn-down order. */
  lotByEmail: Map<string, string>;
}

/** Thrown to roll back the floor's transaction. */
class RolledBack extends Error {}

/**
 * Writes one batch (events as bench:usage makes them: id, user, model, category, input and output
 * tokens) as the floor does, under ids prefixed by `tag`, and rolls it back. Returns the milliseconds
 * of the transaction alone (the arrays are made before the clock starts).
 */
export async function floorBatch(
  raw: postgres.Sql,
  target: FloorTarget,
  batch: readonly Record<string, unknown>[],
  tag: string,
): Promise<number> {
  const ids = batch.map((event) => `${tag}-${String(event.id)}`);
  const members = batch.map((event) => target.memberByEmail.get(String(event.user))!);
  const models = batch.map((event) => String(event.model));
  const categories = batch.map((event) => String(event.category));
  const tokens = batch.map((event) => String(Number(event.input_tokens) + Number(event.output_tokens)));
  const perMember = new Map<string, { wallet: string; lot: string; tokens: number }>();
  for (const event of batch) {
    const user = String(event.user);
    const member = target.memberByEmail.get(user)!;
    const entry = perMember.get(member) ?? {
      wallet: target.walletByEmail.get(user)!,
      lot: target.lotByEmail.get(user)!,
      tokens: 0,
    };
    entry.tokens += Number(event.input_tokens) + Number(event.output_tokens);
    perMember.set(member, entry);
  }
  const debitMembers = [...perMember.keys()];
  const debitWallets = debitMembers.map((member) => perMember.get(member)!.wallet);
  const debitLots = debitMembers.map((member) => perMember.get(member)!.lot);
  const debitAmounts = debitMembers.map((member) => String(perMember.get(member)!.tokens));
  const debitTotal = String(debitAmounts.reduce((sum, amount) => sum + Number(amount), 0));
  const org = target.orgId.toString();
  const usage = target.usageAccountId;
  const started = performance.now();
  await raw
    .begin(async (tx) => {
      await tx`insert into usage_events (org_id, event_id, member_id, model, category, input_tokens, output_tokens, event_at, recorded_at, cost_micros, value, content_hash, raw_hash, transfer_id)
               select ${org}::bigint, e.id, e.member, e.model, e.category, e.tokens, 0, now(), now(), 0, e.tokens, 'h', 'h', 0
                 from unnest(${ids}::text[], ${members}::bigint[], ${models}::text[], ${categories}::text[], ${tokens}::bigint[]) as e(id, member, model, category, tokens)`;
      await tx`with debits as (
                 insert into transfers (org_id, operation_key, leg, request_hash, debit_account_id, credit_account_id, amount, code, actor_member_id, platform, memo)
                 select ${org}::bigint, ${tag} || '-' || d.member, 1, 'h', d.wallet, ${usage}::bigint, d.amount, 'usage', d.member, 'api', ''
                   from unnest(${debitMembers}::bigint[], ${debitWallets}::bigint[], ${debitAmounts}::bigint[]) as d(member, wallet, amount)
                 returning id, debit_account_id
               )
               insert into lot_draws (org_id, transfer_id, lot_id, amount)
               select ${org}::bigint, t.id, d.lot, d.amount
                 from unnest(${debitWallets}::bigint[], ${debitLots}::bigint[], ${debitAmounts}::bigint[]) as d(wallet, lot, amount)
                 join debits t on t.debit_account_id = d.wallet`;
      await tx`update lots l set remaining = l.remaining - d.amount
                 from unnest(${debitLots}::bigint[], ${debitAmounts}::bigint[]) as d(lot, amount)
                where l.org_id = ${org}::bigint and l.id = d.lot`;
      await tx`update accounts a set balance = a.balance - d.amount
                 from unnest(${debitWallets}::bigint[], ${debitAmounts}::bigint[]) as d(wallet, amount)
                where a.org_id = ${org}::bigint and a.id = d.wallet`;
      await tx`update accounts set balance = balance + ${debitTotal}::bigint
                where org_id = ${org}::bigint and id = ${usage}::bigint`;
      await tx`insert into usage_daily_rollups as r (org_id, member_id, day, model, category, events, input_tokens, output_tokens, tokens, value, cost_micros)
               select ${org}::bigint, e.member, current_date, e.model, e.category, count(*), sum(e.tokens), 0, sum(e.tokens), sum(e.tokens), 0
                 from unnest(${members}::bigint[], ${models}::text[], ${categories}::text[], ${tokens}::bigint[]) as e(member, model, category, tokens)
                group by e.member, e.model, e.category
               on conflict (org_id, member_id, day, model, category) do update
                 set events = r.events + excluded.events, tokens = r.tokens + excluded.tokens, value = r.value + excluded.value`;
      throw new RolledBack();
    })
    .catch((error: unknown) => {
      if (!(error instanceof RolledBack)) throw error;
    });
  return performance.now() - started;
}

/** The floor's target for an organisation whose members were added with emails and funded (one lot or more each). */
export async function floorTarget(raw: postgres.Sql, orgId: bigint): Promise<FloorTarget> {
  const org = orgId.toString();
  const rows = await raw`select m.email, m.id::text as member, a.id::text as wallet, l.id::text as lot
      from members m
      join accounts a on a.org_id = m.org_id and a.member_id = m.id and a.kind = 'wallet'
      join lateral (select x.id from lots x where x.org_id = a.org_id and x.account_id = a.id and x.remaining > 0
                     order by x.expires_at asc nulls last, x.id limit 1) l on true
     where m.org_id = ${org}::bigint`;
  const [usage] = await raw`select id::text as id from accounts where org_id = ${org}::bigint and kind = 'usage'`;
  return {
    orgId,
    usageAccountId: String(usage?.id),
    walletByEmail: new Map(rows.map((row) => [String(row.email), String(row.wallet)])),
    memberByEmail: new Map(rows.map((row) => [String(row.email), String(row.member)])),
    lotByEmail: new Map(rows.map((row) => [String(row.email), String(row.lot)])),
  };
}
