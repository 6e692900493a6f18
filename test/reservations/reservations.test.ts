import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceMessage, loadMemberSummary } from '../../src/chat/summary.usecases';
import { createDatabase } from '../../src/db/client';
import { auditLedger, getBalances, grantTokens } from '../../src/ledger/ledger.usecases';
import { reverseTransfer } from '../../src/ledger/reversal.usecases';
import { type Ctx, operatorActor } from '../../src/lib/context';
import type { Member, Organisation } from '../../src/members/members.repository';
import { setMemberActive } from '../../src/members/members.usecases';
import {
  expireReservations,
  getHolding,
  releaseReservation,
  reserveTokens,
  settleReservation,
} from '../../src/reservations/reservations.usecases';
import { createTestCtx, createTestDatabase, onPostgres, type TestDatabase } from '../support/db';
import { makeMember, makeOrganisation, uniqueKey } from '../support/fixtures';
import { messageText } from '../usage/support';

// Reservations are TigerBeetle's two-phase transfers for AI calls: a gateway holds tokens before a call
// (pending), then settles them with the actual usage (post) or releases them (void); the sweeper voids
// what outlives its deadline. Every test ends with a clean audit, which includes the reservation
// invariants (held = open reservations; available below zero only through usage).

let tdb: TestDatabase;
let ctx: ReturnType<typeof createTestCtx>;
beforeAll(async () => {
  tdb = await createTestDatabase({ poolMax: 10 });
  ctx = createTestCtx(tdb.db, undefined);
  ctx.clock.set('2026-11-30T10:00:00Z');
});
afterAll(async () => tdb?.close());

async function expectAuditClean(orgId: bigint, on: Ctx = ctx) {
  expect(await auditLedger(on, { orgId })).toEqual([]);
}

/** An organisation with an admin, and Ana (ana@…) holding `tokens` in her wallet. */
async function walletWith(tokens: bigint): Promise<{ org: Organisation; admin: Member; ana: Member; email: string }> {
  const org = await makeOrganisation(ctx);
  const admin = await makeMember(ctx, org.id, { role: 'admin', name: 'Ada Admin' });
  const email = `${uniqueKey('ana')}@acme.test`;
  const ana = await makeMember(ctx, org.id, { name: 'Ana', email });
  if (tokens > 0n) {
    const granted = await grantTokens(ctx, {
      orgId: org.id,
      actor: operatorActor,
      recipientIds: [ana.id],
      amount: tokens,
      idempotencyKey: uniqueKey('grant'),
    });
    if (!granted.ok) throw new Error(granted.failure);
  }
  return { org, admin, ana, email };
}

async function holding(orgId: bigint, memberId: bigint) {
  return getHolding(ctx, { orgId, memberId });
}

describe('a reservation holds tokens for a call in flight', () => {
  it('holds tokens from the available, not from the balance, until it is settled', async () => {
    const { org, ana, email } = await walletWith(1_000n);
    const reserved = await reserveTokens(ctx, { orgId: org.id, idempotencyKey: 'call-1', user: email, tokens: 300n });
    expect(reserved.ok && reserved.value).toMatchObject({
      reservation: { state: 'held', tokens: 300n },
      available: 700n,
      replayed: false,
    });
    expect(reserved.ok && reserved.value.reservation.expiresAt.toISOString()).toBe('2026-11-30T10:05:00.000Z');
    expect(await holding(org.id, ana.id)).toEqual({ balance: 1_000n, held: 300n, available: 700n });
    await expectAuditClean(org.id);
  });

  it('refuses a reservation the available does not cover, says how much is left, and changes nothing', async () => {
    const { org, ana, email } = await walletWith(500n);
    await reserveTokens(ctx, { orgId: org.id, idempotencyKey: 'a', user: email, tokens: 400n });
    const refused = await reserveTokens(ctx, { orgId: org.id, idempotencyKey: 'b', user: email, tokens: 101n });
    expect(refused).toMatchObject({ ok: false, failure: 'insufficient_tokens', detail: { available: 100n } });
    expect(await holding(org.id, ana.id)).toEqual({ balance: 500n, held: 400n, available: 100n });
    const exact = await reserveTokens(ctx, { orgId: org.id, idempotencyKey: 'c', user: email, tokens: 100n });
    expect(exact.ok && exact.value.available).toBe(0n);
    await expectAuditClean(org.id);
  });

  it('64 concurrent reservations against a wallet that covers exactly 20 of them: 20 held, 44 refused, none over', async () => {
    const { org, ana, email } = await walletWith(20n * 150n);
    const answers = await Promise.all(
      Array.from({ length: 64 }, (_, index) =>
        reserveTokens(ctx, { orgId: org.id, idempotencyKey: `par-${index}`, user: email, tokens: 150n }),
      ),
    );
    const held = answers.filter((answer) => answer.ok);
    const refused = answers.filter((answer) => !answer.ok);
    expect(held).toHaveLength(20);
    expect(refused).toHaveLength(44);
    for (const answer of refused) expect(answer).toMatchObject({ failure: 'insufficient_tokens' });
    for (const answer of held) expect(answer.ok && answer.value.available).toBeGreaterThanOrEqual(0n);
    expect(await holding(org.id, ana.id)).toEqual({ balance: 3_000n, held: 3_000n, available: 0n });
    await expectAuditClean(org.id);
  });

  it('the same id with the same body answers as the first call did; with another body it is a conflict', async () => {
    const { org, ana, email } = await walletWith(1_000n);
    const first = await reserveTokens(ctx, { orgId: org.id, idempotencyKey: 'gw-7', user: email, tokens: 200n });
    // Another call holds 100 in between: the repeat still answers with the first answer's available.
    await reserveTokens(ctx, { orgId: org.id, idempotencyKey: 'gw-8', user: email, tokens: 100n });
    const again = await reserveTokens(ctx, { orgId: org.id, idempotencyKey: 'gw-7', user: email, tokens: 200n });
    expect(first.ok && first.value.available).toBe(800n);
    expect(again.ok && again.value.available).toBe(800n);
    expect(first.ok && again.ok).toBe(true);
    expect(again.ok && again.value).toMatchObject({ replayed: true, reservation: { tokens: 200n, state: 'held' } });
    expect(again.ok && first.ok && again.value.reservation.expiresAt).toEqual(
      first.ok && first.value.reservation.expiresAt,
    );
    const other = await reserveTokens(ctx, { orgId: org.id, idempotencyKey: 'gw-7', user: email, tokens: 201n });
    expect(other).toMatchObject({ ok: false, failure: 'idempotency_conflict' });
    expect(await holding(org.id, ana.id)).toEqual({ balance: 1_000n, held: 300n, available: 700n });
    await expectAuditClean(org.id);
  });

  it('refuses an unknown user, a deactivated member, a bad timeout and a bad amount, and holds nothing', async () => {
    const { org, ana, email } = await walletWith(1_000n);
    const base = { orgId: org.id, idempotencyKey: uniqueKey('r'), tokens: 10n };
    expect(await reserveTokens(ctx, { ...base, user: 'nobody@acme.test' })).toMatchObject({ failure: 'unknown_user' });
    expect(await reserveTokens(ctx, { ...base, user: 'not an email' })).toMatchObject({ failure: 'invalid_user' });
    expect(await reserveTokens(ctx, { ...base, user: email, timeoutSeconds: 3_601 })).toMatchObject({
      failure: 'invalid_timeout',
    });
    expect(await reserveTokens(ctx, { ...base, user: email, timeoutSeconds: 0 })).toMatchObject({
      failure: 'invalid_timeout',
    });
    expect(await reserveTokens(ctx, { ...base, user: email, tokens: 0n })).toMatchObject({ failure: 'amount_invalid' });
    const deactivated = await setMemberActive(ctx, {
      orgId: org.id,
      memberId: ana.id,
      actor: operatorActor,
      active: false,
    });
    expect(deactivated.ok).toBe(true);
    expect(await reserveTokens(ctx, { ...base, user: email })).toMatchObject({ failure: 'member_inactive' });
    expect((await holding(org.id, ana.id))?.held).toBe(0n);
    await expectAuditClean(org.id);
  });

  it('a grant reversal cannot take tokens that a call in flight holds', async () => {
    const org = await makeOrganisation(ctx);
    const email = `${uniqueKey('ben')}@acme.test`;
    const ben = await makeMember(ctx, org.id, { name: 'Ben', email });
    const granted = await grantTokens(ctx, {
      orgId: org.id,
      actor: operatorActor,
      recipientIds: [ben.id],
      amount: 1_000n,
      idempotencyKey: uniqueKey('grant'),
    });
    if (!granted.ok) throw new Error(granted.failure);
    await reserveTokens(ctx, { orgId: org.id, idempotencyKey: 'hold', user: email, tokens: 600n });
    const reversed = await reverseTransfer(ctx, {
      orgId: org.id,
      actor: operatorActor,
      transferId: granted.value.transferIds[0]!,
      idempotencyKey: uniqueKey('rev'),
    });
    expect(reversed).toMatchObject({ ok: false });
    expect(await holding(org.id, ben.id)).toEqual({ balance: 1_000n, held: 600n, available: 400n });
    await expectAuditClean(org.id);
  });
});

describe('a reservation is settled with what the call used, once', () => {
  async function heldCall(tokens: bigint, held: bigint) {
    const team = await walletWith(tokens);
    const key = uniqueKey('call');
    const reserved = await reserveTokens(ctx, {
      orgId: team.org.id,
      idempotencyKey: key,
      user: team.email,
      tokens: held,
    });
    if (!reserved.ok) throw new Error(reserved.failure);
    return { ...team, key };
  }
  const usage = (input: number, output: number) => ({ model: 'gpt-4o', input_tokens: input, output_tokens: output });

  it('settling less than held debits what was used and frees the rest', async () => {
    const { org, ana, key } = await heldCall(1_000n, 500n);
    const settled = await settleReservation(ctx, { orgId: org.id, idempotencyKey: key, usage: usage(120, 80) });
    expect(settled.ok && settled.value).toMatchObject({
      usedTokens: 200n,
      heldTokens: 500n,
      replayed: false,
      afterExpiry: false,
      reservation: { state: 'settled' },
    });
    expect(await holding(org.id, ana.id)).toEqual({ balance: 800n, held: 0n, available: 800n });
    await expectAuditClean(org.id);
  });

  it('settling exactly what was held debits it all', async () => {
    const { org, ana, key } = await heldCall(1_000n, 500n);
    await settleReservation(ctx, { orgId: org.id, idempotencyKey: key, usage: usage(300, 200) });
    expect(await holding(org.id, ana.id)).toEqual({ balance: 500n, held: 0n, available: 500n });
    await expectAuditClean(org.id);
  });

  it('settling more than held debits the extra too, the one way a wallet may go below zero', async () => {
    const { org, ana, key } = await heldCall(400n, 400n);
    const settled = await settleReservation(ctx, { orgId: org.id, idempotencyKey: key, usage: usage(500, 100) });
    expect(settled.ok && settled.value.usedTokens).toBe(600n);
    expect(await holding(org.id, ana.id)).toEqual({ balance: -200n, held: 0n, available: -200n });
    await expectAuditClean(org.id);
  });

  it('a retried settle is a duplicate: the usage is debited once', async () => {
    const { org, ana, key } = await heldCall(1_000n, 500n);
    await settleReservation(ctx, { orgId: org.id, idempotencyKey: key, usage: usage(100, 100) });
    const again = await settleReservation(ctx, { orgId: org.id, idempotencyKey: key, usage: usage(100, 100) });
    expect(again.ok && again.value).toMatchObject({ replayed: true, reservation: { state: 'settled' } });
    expect(await holding(org.id, ana.id)).toEqual({ balance: 800n, held: 0n, available: 800n });
    await expectAuditClean(org.id);
  });

  it('a settle with usage /v1/usage would refuse is refused with its reason, and the hold stays', async () => {
    const { org, ana, key } = await heldCall(1_000n, 500n);
    const refused = await settleReservation(ctx, {
      orgId: org.id,
      idempotencyKey: key,
      usage: { model: 'gpt-4o', input_tokens: -1, output_tokens: 5 },
    });
    expect(refused).toMatchObject({ ok: false, failure: 'usage_rejected', detail: { reason: 'invalid_tokens' } });
    expect(await holding(org.id, ana.id)).toEqual({ balance: 1_000n, held: 500n, available: 500n });
    await expectAuditClean(org.id);
  });

  it('an unknown reservation cannot be settled or released', async () => {
    const { org } = await walletWith(10n);
    expect(await settleReservation(ctx, { orgId: org.id, idempotencyKey: 'nope', usage: usage(1, 1) })).toMatchObject({
      failure: 'reservation_not_found',
    });
    expect(await releaseReservation(ctx, { orgId: org.id, idempotencyKey: 'nope' })).toMatchObject({
      failure: 'reservation_not_found',
    });
  });
});

describe('a reservation released or expired frees its tokens, once', () => {
  it('a release frees the hold and debits nothing; a second release answers the same; a settle after it is refused', async () => {
    const { org, ana, email } = await walletWith(1_000n);
    await reserveTokens(ctx, { orgId: org.id, idempotencyKey: 'rel', user: email, tokens: 300n });
    const released = await releaseReservation(ctx, { orgId: org.id, idempotencyKey: 'rel' });
    expect(released.ok && released.value).toMatchObject({ replayed: false, reservation: { state: 'released' } });
    const again = await releaseReservation(ctx, { orgId: org.id, idempotencyKey: 'rel' });
    expect(again.ok && again.value.replayed).toBe(true);
    const settle = await settleReservation(ctx, {
      orgId: org.id,
      idempotencyKey: 'rel',
      usage: { model: 'm', input_tokens: 1, output_tokens: 1 },
    });
    expect(settle).toMatchObject({ ok: false, failure: 'reservation_released' });
    expect(await holding(org.id, ana.id)).toEqual({ balance: 1_000n, held: 0n, available: 1_000n });
    await expectAuditClean(org.id);
  });

  it('expires at its deadline by the sweeper; a settle that comes later still debits the usage and says so', async () => {
    const { org, ana, email } = await walletWith(1_000n);
    await reserveTokens(ctx, { orgId: org.id, idempotencyKey: 'slow', user: email, tokens: 400n, timeoutSeconds: 60 });
    ctx.clock.advanceMs(59_000);
    await expireReservations(ctx);
    expect((await holding(org.id, ana.id))?.held).toBe(400n);
    ctx.clock.advanceMs(1_000);
    expect(await expireReservations(ctx)).toBeGreaterThanOrEqual(1);
    expect(await holding(org.id, ana.id)).toEqual({ balance: 1_000n, held: 0n, available: 1_000n });
    const released = await releaseReservation(ctx, { orgId: org.id, idempotencyKey: 'slow' });
    expect(released).toMatchObject({
      ok: false,
      failure: 'reservation_already_resolved',
      detail: { state: 'expired' },
    });
    const late = await settleReservation(ctx, {
      orgId: org.id,
      idempotencyKey: 'slow',
      usage: { model: 'gpt-4o', input_tokens: 100, output_tokens: 50 },
    });
    expect(late.ok && late.value).toMatchObject({
      afterExpiry: true,
      usedTokens: 150n,
      reservation: { state: 'expired' },
    });
    expect(await holding(org.id, ana.id)).toEqual({ balance: 850n, held: 0n, available: 850n });
    await expectAuditClean(org.id);
  });

  it('three replicas sweeping at once expire each reservation exactly once', async () => {
    const { org, ana, email } = await walletWith(100_000n);
    for (let index = 0; index < 30; index++) {
      await reserveTokens(ctx, {
        orgId: org.id,
        idempotencyKey: `sweep-${index}`,
        user: email,
        tokens: 100n,
        timeoutSeconds: 1,
      });
    }
    ctx.clock.advanceMs(2_000);
    // Each replica is its own database client (on PGlite, the same in-process database).
    const replicas: Ctx[] = [];
    const opened: { close(): Promise<void> }[] = [];
    for (let index = 0; index < 3; index++) {
      if (onPostgres) {
        const db = await createDatabase({ databaseUrl: tdb.url!, poolMax: 2 });
        opened.push(db);
        replicas.push({ db, clock: ctx.clock });
      } else {
        replicas.push(ctx);
      }
    }
    try {
      const counts = await Promise.all(replicas.map((replica) => expireReservations(replica)));
      expect(counts.reduce((sum, count) => sum + count, 0)).toBe(30);
      expect(await holding(org.id, ana.id)).toEqual({ balance: 100_000n, held: 0n, available: 100_000n });
      expect(await Promise.all(replicas.map((replica) => expireReservations(replica)))).toEqual([0, 0, 0]);
    } finally {
      for (const db of opened) await db.close();
    }
    await expectAuditClean(org.id);
  });
});

it('balances as the ledger reports them are unchanged by holds', async () => {
  const { org, ana, email } = await walletWith(900n);
  await reserveTokens(ctx, { orgId: org.id, idempotencyKey: 'x', user: email, tokens: 900n });
  expect((await getBalances(ctx.db.orm, org.id, ana.id))?.wallet).toBe(900n);
  await expectAuditClean(org.id);
});

it('/balance shows what calls in flight hold and what is available, and nothing of it once they settle', async () => {
  const { org, ana, email } = await walletWith(10_000n);
  const shown = async () => messageText(balanceMessage((await loadMemberSummary(ctx, org.id, ana.id))!, true));
  expect(await shown()).not.toMatch(/Held|Available/);
  await reserveTokens(ctx, { orgId: org.id, idempotencyKey: 'bal-1', user: email, tokens: 4_000n });
  const during = await shown();
  expect(during).toContain('Wallet: 10,000 tokens');
  expect(during).toContain('Held by AI calls in flight: 4,000 tokens');
  expect(during).toContain('Available: 6,000 tokens');
  await settleReservation(ctx, {
    orgId: org.id,
    idempotencyKey: 'bal-1',
    usage: { model: 'gpt-4o', input_tokens: 1_000, output_tokens: 500 },
  });
  const after = await shown();
  expect(after).toContain('Wallet: 8,500 tokens');
  expect(after).not.toMatch(/Held|Available/);
  await expectAuditClean(org.id);
});
