import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDatabase, type Database, queryRows } from '../../src/db/client';
import { parseAmount } from '../../src/ledger/amount.models';
import { expireDueLots } from '../../src/ledger/expiry.usecases';
import { hashOperation } from '../../src/ledger/ledger.models';
import { findAccount, findUsageStripes, pickUsageStripe } from '../../src/ledger/ledger.repository';
import { transferTokensMax } from '../../src/ledger/ledger.tables';
import {
  auditLedger,
  debitUsage,
  getBalances,
  grantTokens,
  issueBudget,
  type Posted,
  post,
  posted,
  topUp,
} from '../../src/ledger/ledger.usecases';
import { reverseTransfer } from '../../src/ledger/reversal.usecases';
import { type Actor, operatorActor } from '../../src/lib/context';
import type { Result } from '../../src/lib/result';
import { updateMember } from '../../src/members/members.repository';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeMember, makeOrganisation } from '../support/fixtures';
import { LotModel, type ModelLot } from './lot-model';

// A seeded random sequence of ledger operations, each checked against a plain in-memory model of the
// ledger and of its lots (issue 16: grants with and without expiry, burn-down order, expiry sweeps
// after clock jumps, reversals of what remains): every answer (ok or the exact failure), every balance,
// what remains of every lot, and the invariant audit at the end.
// Rerun a failure with ALLOT_SEED=<seed printed in the failure>.

const operationsCount = 10_000;
const balanceCheckEvery = 1_000;
const seed = process.env.ALLOT_SEED ? Number(process.env.ALLOT_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;

/** mulberry32: small, fast and good enough to pick operations. */
function createRandom(state: number) {
  let s = state >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return {
    next,
    int: (max: number) => Math.floor(next() * max),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    chance: (p: number) => next() < p,
  };
}

const badAmountTexts = ['-5', '0', '1.5', '1e3', 'NaN', '0x10', 'Infinity', '١٢', '10abc', '1000000000001', '', '5k5'];

interface ModelTransfer {
  code: string;
  debit: bigint;
  credit: bigint;
  amount: bigint;
  reversed: boolean;
}

type Replayable = {
  run: () => Promise<Result<Posted, string>>;
  transferIds: bigint[];
  conflicting: () => Promise<Result<Posted, string>>;
};

let tdb: TestDatabase;
let db: Database;
beforeAll(async () => {
  tdb = await createTestDatabase();
  db = tdb.db;
  if (tdb.url) {
    // Ten thousand sequential commits each waiting on fsync would dominate the run; durability is
    // not what this test checks, so its own database skips the wait.
    const name = new URL(tdb.url).pathname.slice(1);
    await tdb.db.orm.execute(sql.raw(`alter database "${name}" set synchronous_commit = off`));
    db = await createDatabase({ databaseUrl: tdb.url, poolMax: 2 });
  }
});
afterAll(async () => {
  if (db !== tdb.db) await db.close();
  await tdb.close();
});

it(`a seeded random sequence of ${operationsCount} ledger operations matches a simple model, and the audit finds nothing`, async () => {
  const random = createRandom(seed);
  const ctx = createTestCtx(db);
  const orm = db.orm;
  const org = await makeOrganisation(ctx);
  const orgId = org.id;
  const admin = await makeMember(ctx, orgId, { role: 'admin' });
  const managers = [
    await makeMember(ctx, orgId, { role: 'manager' }),
    await makeMember(ctx, orgId, { role: 'manager' }),
    await makeMember(ctx, orgId, { role: 'manager' }),
  ];
  const people = [] as typeof managers;
  for (let i = 0; i < 8; i++) people.push(await makeMember(ctx, orgId, { managerId: managers[i % 3]!.id }));
  const bot = await makeMember(ctx, orgId, { isBot: true });
  const gone = await makeMember(ctx, orgId);
  await updateMember(orm, orgId, gone.id, { isActive: false });
  const missingId = 987_654_321n;

  const treasury = (await findAccount(orm, orgId, 'treasury'))!.id;
  const usageStripeRows = await queryRows<{ id: string }>(
    orm,
    sql`select id::text from accounts where org_id = ${orgId.toString()}::bigint and kind = 'usage'`,
  );
  const walletOf = new Map<bigint, bigint>();
  // The usage account's stripes, read once: a wallet's usage credits the one pickUsageStripe names.
  const usageStripes = await findUsageStripes(orm, orgId);
  const budgetOf = new Map<bigint, bigint>();
  const kindOf = new Map<bigint, string>([
    [treasury, 'treasury'],
    ...usageStripeRows.map((row) => [BigInt(row.id), 'usage'] as [bigint, string]),
    [(await findAccount(orm, orgId, 'expired'))!.id, 'expired'],
  ]);
  for (const member of [admin, ...managers, ...people, bot, gone]) {
    const balances = (await getBalances(orm, orgId, member.id))!;
    walletOf.set(member.id, balances.walletAccountId);
    budgetOf.set(member.id, balances.budgetAccountId);
    kindOf.set(balances.walletAccountId, 'wallet');
    kindOf.set(balances.budgetAccountId, 'budget');
  }
  const model = new Map<bigint, bigint>([...kindOf.keys()].map((id) => [id, 0n]));
  const transfersModel = new Map<bigint, ModelTransfer>();
  const replayable: Replayable[] = [];
  const counts: Record<string, number> = {};
  let keySerial = 0;
  const nextKey = () => `sim-${seed}-${keySerial++}`;

  const move = (debit: bigint, credit: bigint, amount: bigint) => {
    model.set(debit, model.get(debit)! - amount);
    model.set(credit, model.get(credit)! + amount);
  };
  const lots = new LotModel();
  const hasLots = (account: bigint) => ['wallet', 'budget'].includes(kindOf.get(account)!);
  const record = (
    ids: bigint[],
    code: string,
    legs: [bigint, bigint][],
    amount: bigint,
    options: { expiresAt?: number | null; drawLot?: ModelLot } = {},
  ) => {
    expect(ids).toHaveLength(legs.length);
    ids.forEach((id, index) => {
      const [debit, credit] = legs[index]!;
      expect(transfersModel.has(id)).toBe(false);
      transfersModel.set(id, { code, debit, credit, amount, reversed: false });
      if (hasLots(debit)) lots.draw(debit, id, amount, options.drawLot);
      if (hasLots(credit)) lots.credit(credit, id, amount, model.get(credit)!, options.expiresAt ?? null);
      move(debit, credit, amount);
    });
  };
  const compareLots = async () => {
    const rows = await queryRows<{ transfer_id: string; remaining: string }>(
      orm,
      sql`select transfer_id::text, remaining::text from lots where org_id = ${orgId.toString()}::bigint`,
    );
    expect(new Map(rows.map((row) => [row.transfer_id, BigInt(row.remaining)]))).toEqual(lots.remains());
  };
  const randomAmount = (): bigint => {
    const roll = random.next();
    if (roll < 0.03) return random.chance(0.5) ? 0n : transferTokensMax + 1n + BigInt(random.int(1000));
    if (roll < 0.1) return BigInt(100_000 + random.int(900_000));
    return BigInt(1 + random.int(50_000));
  };
  const expectOutcome = (result: Result<Posted, string>, expected: string) => {
    counts[expected] = (counts[expected] ?? 0) + 1;
    expect(result.ok ? 'ok' : result.failure).toBe(expected);
  };
  const compareBalances = async () => {
    const rows = await queryRows<{ id: string; balance: string }>(
      orm,
      sql`select id::text, balance::text from accounts where org_id = ${orgId.toString()}::bigint`,
    );
    const stored = new Map(rows.map((row) => [BigInt(row.id), BigInt(row.balance)]));
    expect(stored).toEqual(model);
    await compareLots();
  };
  const expired = (await findAccount(orm, orgId, 'expired'))!.id;

  let step = 0;
  try {
    for (step = 0; step < operationsCount; step++) {
      const roll = random.next();
      const amount = randomAmount();
      const invalid = amount < 1n || amount > transferTokensMax;
      if (roll < 0.1) {
        // issue: treasury → a manager's budget
        const target = random.chance(0.1) ? random.pick([people[0]!.id, missingId]) : random.pick(managers).id;
        const byManager = random.chance(0.05);
        const input = {
          orgId,
          actor: byManager
            ? ({ kind: 'member', memberId: managers[0]!.id, platform: 'slack' } as Actor)
            : operatorActor,
          managerId: target,
          amount,
          idempotencyKey: nextKey(),
        };
        const result = await issueBudget(ctx, input);
        const expected = invalid
          ? 'amount_invalid'
          : byManager
            ? 'not_an_admin'
            : target === missingId
              ? 'member_not_found'
              : target === people[0]!.id
                ? 'not_a_manager'
                : 'ok';
        expectOutcome(result, expected);
        if (result.ok) {
          record(result.value.transferIds, 'issue', [[treasury, budgetOf.get(target)!]], amount);
          expect(result.value.budgetBalance).toBe(model.get(budgetOf.get(target)!));
          replayable.push({
            run: () => issueBudget(ctx, input),
            conflicting: () => issueBudget(ctx, { ...input, memo: 'changed' }),
            transferIds: result.value.transferIds,
          });
        }
      } else if (roll < 0.4) {
        // grant: a manager's budget (or the treasury for the admin) → one to three wallets
        const granter = random.chance(0.15) ? admin : random.chance(0.05) ? people[1]! : random.pick(managers);
        const recipientIds: bigint[] = [];
        const size = 1 + random.int(3);
        for (let i = 0; i < size; i++) {
          const odd = random.next();
          recipientIds.push(
            odd < 0.03
              ? granter.id
              : odd < 0.05
                ? bot.id
                : odd < 0.07
                  ? gone.id
                  : odd < 0.08
                    ? missingId
                    : random.pick(people).id,
          );
        }
        const unique = [...new Set(recipientIds)];
        const input = {
          orgId,
          actor: { kind: 'member', memberId: granter.id, platform: 'slack' } as Actor,
          recipientIds,
          amount,
          memo: `sim ${step}`,
          idempotencyKey: nextKey(),
        };
        const result = await grantTokens(ctx, input);
        const fromTreasury = granter.role === 'admin';
        const source = fromTreasury ? treasury : budgetOf.get(granter.id)!;
        const firstBad = unique.find((id) => id === missingId || id === bot.id || id === gone.id);
        let expected = 'ok';
        if (invalid) expected = 'amount_invalid';
        else if (unique.includes(granter.id)) expected = 'self_grant';
        else if (granter.role === 'member') expected = 'not_a_manager';
        else if (firstBad !== undefined)
          expected =
            firstBad === missingId
              ? 'recipient_not_found'
              : firstBad === bot.id
                ? 'recipient_is_bot'
                : 'recipient_inactive';
        else if (!fromTreasury && model.get(source)! < amount * BigInt(unique.length)) expected = 'exceeds_budget';
        expectOutcome(result, expected);
        if (result.ok) {
          record(
            result.value.transferIds,
            'grant',
            unique.map((id) => [source, walletOf.get(id)!]),
            amount,
          );
          expect(result.value.budgetBalance).toBe(fromTreasury ? null : model.get(source));
          replayable.push({
            run: () => grantTokens(ctx, input),
            conflicting: () => grantTokens(ctx, { ...input, amount: amount + 1n }),
            transferIds: result.value.transferIds,
          });
        }
      } else if (roll < 0.62) {
        // usage: a wallet → usage; may overdraw the wallet
        if (invalid) continue;
        const person = random.pick(people);
        const key = nextKey();
        const input = { orgId, memberId: person.id, amount, idempotencyKey: key, body: { event: key, tokens: amount } };
        const result = await debitUsage(orm, input);
        expectOutcome(result, 'ok');
        if (result.ok) {
          const wallet = walletOf.get(person.id)!;
          const usage = pickUsageStripe(usageStripes, wallet)!.id;
          record(result.value.transferIds, 'usage', [[wallet, usage]], amount);
          replayable.push({
            run: () => debitUsage(orm, input),
            conflicting: () =>
              debitUsage(orm, { ...input, amount: amount + 1n, body: { event: key, tokens: amount + 1n } }),
            transferIds: result.value.transferIds,
          });
        }
      } else if (roll < 0.72) {
        // top-up: a manager's budget, or the treasury → a wallet
        if (invalid) continue;
        const approver = random.chance(0.2) ? null : random.pick(managers);
        const person = random.pick(people);
        const source = approver ? budgetOf.get(approver.id)! : treasury;
        const input = {
          orgId,
          actor: approver ? ({ kind: 'member', memberId: approver.id, platform: 'teams' } as Actor) : operatorActor,
          fromMemberId: approver?.id ?? null,
          toMemberId: person.id,
          amount,
          idempotencyKey: nextKey(),
        };
        const result = await topUp(orm, input, false);
        expectOutcome(result, approver && model.get(source)! < amount ? 'exceeds_budget' : 'ok');
        if (result.ok) {
          record(result.value.transferIds, 'topup', [[source, walletOf.get(person.id)!]], amount);
          replayable.push({
            run: () => topUp(orm, input, false),
            conflicting: () => topUp(orm, { ...input, amount: amount + 1n }, false),
            transferIds: result.value.transferIds,
          });
        }
      } else if (roll < 0.82) {
        // reversal of an earlier transfer (or of one that does not exist)
        const ids = [...transfersModel.keys()];
        const transferId =
          ids.length === 0 || random.chance(0.03)
            ? missingId
            : ids[ids.length - 1 - random.int(Math.min(ids.length, 300))]!;
        const original = transfersModel.get(transferId);
        const input = { orgId, actor: operatorActor, transferId, idempotencyKey: nextKey() };
        const result = await reverseTransfer(ctx, input);
        // A credit into a wallet or budget is reversed by what remains of its lot only.
        const lot = lots.lotOfTransfer.get(transferId);
        let expected = 'ok';
        if (!original) expected = 'transfer_not_found';
        else if (original.code === 'reversal') expected = 'cannot_reverse_reversal';
        else if (original.reversed) expected = 'already_reversed';
        else if (lot && lot.remaining === 0n) expected = 'nothing_left';
        else if (!lot && kindOf.get(original.credit) !== 'treasury' && model.get(original.credit)! < original.amount)
          expected = 'exceeds_balance';
        expectOutcome(result, expected);
        if (result.ok && original) {
          const amount = lot && lot.remaining < original.amount ? lot.remaining : original.amount;
          expect(result.value.amount).toBe(amount);
          record(result.value.transferIds, 'reversal', [[original.credit, original.debit]], amount, {
            drawLot: lot,
            expiresAt: lots.reversalExpiry(transferId, original.code),
          });
          original.reversed = true;
          replayable.push({
            run: () => reverseTransfer(ctx, input),
            conflicting: () => reverseTransfer(ctx, { ...input, memo: 'another reason' }),
            transferIds: result.value.transferIds,
          });
        }
      } else if (roll < 0.93) {
        // a replay of an earlier operation's idempotencyKey: the same body answers as the first time and moves
        // nothing; another body under that key is a conflict and moves nothing
        if (replayable.length === 0) continue;
        const earlier = random.pick(replayable);
        if (random.chance(0.25)) {
          expectOutcome(await earlier.conflicting(), 'idempotency_conflict');
        } else {
          const result = await earlier.run();
          expectOutcome(result, 'ok');
          if (result.ok) {
            expect(result.value.replayed).toBe(true);
            expect(result.value.transferIds).toEqual(earlier.transferIds);
          }
        }
      } else if (roll < 0.985) {
        // a credit with an expiry (a grant into a wallet, or a budget issue), 0 to 40 days ahead, then
        // now and then the clock jumps up to 10 days and the expiry sweep runs
        if (invalid) continue;
        const toWallet = random.chance(0.7);
        const owner = toWallet ? random.pick(people) : random.pick(managers);
        const account = toWallet ? walletOf.get(owner.id)! : budgetOf.get(owner.id)!;
        const expiresAt = ctx.clock.now().getTime() + random.int(40 * 86_400) * 1_000;
        const key = nextKey();
        const input = {
          orgId,
          idempotencyKey: key,
          requestHash: hashOperation({ key, expiresAt }),
          code: toWallet ? ('grant' as const) : ('issue' as const),
          legs: [{ debitAccountId: treasury, creditAccountId: account, amount }],
          actorMemberId: admin.id,
          platform: 'cli',
          memo: `sim ${step} expiring`,
          reversesTransferId: null,
          lotExpiresAt: [new Date(expiresAt)],
        };
        const outcome = await post(orm, input);
        expect(outcome.status).toBe('ok');
        counts.expiring_credit = (counts.expiring_credit ?? 0) + 1;
        record(outcome.transferIds, toWallet ? 'grant' : 'issue', [[treasury, account]], amount, { expiresAt });
        replayable.push({
          run: async () => {
            const outcome = await post(orm, input);
            return { ok: true, value: posted(outcome) };
          },
          conflicting: async () => {
            const outcome = await post(orm, { ...input, requestHash: hashOperation({ key, expiresAt: 0 }) });
            return outcome.status === 'conflict'
              ? { ok: false, failure: 'idempotency_conflict' }
              : { ok: true, value: posted(outcome) };
          },
          transferIds: outcome.transferIds,
        });
        if (random.chance(0.3)) {
          ctx.clock.advanceMs(random.int(10 * 86_400) * 1_000);
          const due = lots.due(ctx.clock.now().getTime());
          const done = await expireDueLots(ctx, { orgId });
          expect(done.map((expiry) => expiry.amount)).toEqual(due.map((lot) => lot.remaining));
          done.forEach((expiry, index) => {
            const lot = due[index]!;
            expect(expiry.accountId).toBe(lot.accountId);
            record([expiry.transferId!], 'expire', [[lot.accountId, expired]], expiry.amount, { drawLot: lot });
          });
          counts.expired_lots = (counts.expired_lots ?? 0) + done.length;
        }
      } else {
        // a bad amount typed by a person never reaches the ledger
        const text = random.pick(badAmountTexts);
        const parsed = parseAmount(text);
        counts.bad_amount_text = (counts.bad_amount_text ?? 0) + 1;
        expect(parsed.ok).toBe(false);
      }
      if ((step + 1) % balanceCheckEvery === 0) await compareBalances();
    }
    await compareBalances();
    expect(await auditLedger(ctx, { orgId })).toEqual([]);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`randomised ledger run failed at operation ${step}; rerun with ALLOT_SEED=${seed}\n${message}`, {
      cause: error,
    });
  }
  // Every kind of answer must have come up, or the sequence tested less than it claims.
  for (const outcome of [
    'ok',
    'exceeds_budget',
    'nothing_left',
    'already_reversed',
    'expiring_credit',
    'expired_lots',
    'self_grant',
    'idempotency_conflict',
  ]) {
    expect(counts[outcome] ?? 0, `seed ${seed}: no ${outcome} in the sequence`).toBeGreaterThan(0);
  }
  // A limit, not a target: the simulation takes about 50 s on two idle cores, and several times that
  // on a loaded machine.
}, 600_000);
