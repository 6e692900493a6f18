import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listLiveRules } from '../../../src/allowances/allowances.repository';
import { listRequestsByRequester } from '../../../src/approvals/approvals.repository';
import { type SlackHarness, SlackWorkspace, startSlackHarness } from '../../support/app';
import { textOf } from '../../support/fake-slack';
import { ledgerOf, settle, setUpTeam } from './team';

// The amount rule (issue #11.1) through the real Bolt receiver, in every Slack command that reads an
// amount: the ledger (or the request, or the allowance) gets exactly the amount typed as a number, or
// nothing and a question showing both readings. Never 50,100 for "50 100 commits reviewed".

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness();
});
afterAll(async () => h?.stop());

/** The reported input and its neighbours: the amount read, or null for "ambiguous: nothing happens". */
const cases: [string, bigint | null][] = [
  ['50 100 commits reviewed', null],
  ['1\u00a0000 thanks', 1_000n],
  ['50 000 thanks', null],
  ['50k 3 PRs merged', 50_000n],
  ['50,000 100 commits', null],
];
const named = cases.map(
  ([words, amount]) =>
    [`"${words}"${words.includes('\u00a0') ? ' (a no-break space inside one word)' : ''}`, words, amount] as const,
);

const ambiguity = /could be one amount, .* so nothing was done\. For .* type \d+/;

describe('/grant-tokens grants exactly the amount typed, or asks which was meant and grants nothing', () => {
  let ws: SlackWorkspace;
  beforeAll(async () => {
    ws = new SlackWorkspace(h);
    await setUpTeam(ws, '100k');
  });

  it.each(named)('%s', async (_name, words, amount) => {
    const ledger = ledgerOf(h, ws);
    const [walletBefore, budgetBefore, transfersBefore] = [
      await ledger.wallet('UANA'),
      await ledger.budget('UMIA'),
      (await ledger.transfers()).length,
    ];
    const { reply } = await ws.command('UMIA', '/grant-tokens', `<@UANA> ${words}`);
    await settle(h);
    if (amount === null) {
      expect(textOf(reply)).toMatch(ambiguity);
      expect((await ledger.transfers()).length).toBe(transfersBefore);
    } else {
      expect(textOf(reply)).toContain('You granted');
    }
    expect(await ledger.wallet('UANA')).toBe(walletBefore + (amount ?? 0n));
    expect(await ledger.budget('UMIA')).toBe(budgetBefore - (amount ?? 0n));
    expect(await ledger.audit()).toEqual([]);
  });

  it('the reason after an amount with a suffix keeps its leading number', async () => {
    const grant = (await ledgerOf(h, ws).transfers()).find((t) => t.code === 'grant' && t.amount === 50_000n);
    expect(grant?.memo).toBe('3 PRs merged');
  });
});

describe('/request-tokens asks for exactly the amount typed, or asks which was meant and requests nothing', () => {
  let ws: SlackWorkspace;
  beforeAll(async () => {
    ws = new SlackWorkspace(h);
    await setUpTeam(ws, '0');
  });

  it.each(named)('%s', async (_name, words, amount) => {
    const ledger = ledgerOf(h, ws);
    const [org, ana] = [await ledger.org(), await ledger.member('UANA')];
    const requests = () =>
      listRequestsByRequester(h.allot.deps.ctx.db.orm, { orgId: org.id, requesterId: ana.id, limit: 100 });
    const before = await requests();
    const { reply } = await ws.command('UANA', '/request-tokens', words);
    await settle(h);
    const after = await requests();
    if (amount === null) {
      expect(textOf(reply)).toMatch(ambiguity);
      expect(after).toHaveLength(before.length);
    } else {
      expect(after).toHaveLength(before.length + 1);
      expect(after[0]!.amount).toBe(amount);
    }
    expect(await ledger.wallet('UANA')).toBe(0n);
  });
});

describe('/tokens budget issues exactly the amount typed, or asks which was meant and issues nothing', () => {
  let ws: SlackWorkspace;
  beforeAll(async () => {
    ws = new SlackWorkspace(h);
    await setUpTeam(ws, '0');
  });

  it.each(named)('%s', async (_name, words, amount) => {
    const ledger = ledgerOf(h, ws);
    const [budgetBefore, transfersBefore] = [await ledger.budget('UMIA'), (await ledger.transfers()).length];
    const { reply } = await ws.command('UADMIN', '/tokens', `budget <@UMIA> ${words}`);
    await settle(h);
    if (amount === null) {
      expect(textOf(reply)).toMatch(ambiguity);
      expect((await ledger.transfers()).length).toBe(transfersBefore);
    }
    expect(await ledger.budget('UMIA')).toBe(budgetBefore + (amount ?? 0n));
    expect(await ledger.audit()).toEqual([]);
  });
});

describe('/tokens allowance sets exactly the amount typed, or asks which was meant and sets nothing', () => {
  let ws: SlackWorkspace;
  beforeAll(async () => {
    ws = new SlackWorkspace(h);
    await setUpTeam(ws, '0');
  });

  it.each([
    ['"50 100 monthly"', '50 100 monthly', null],
    ['"1 000 monthly" with a no-break space', '1\u00a0000 monthly', 1_000n],
    ['"50 000 monthly"', '50 000 monthly', null],
    ['"50k monthly rollover 10 000"', '50k monthly rollover 10 000', null],
    ['"50k monthly"', '50k monthly', 50_000n],
  ] as const)('%s', async (_name, words, amount) => {
    const org = await ledgerOf(h, ws).org();
    const before = await listLiveRules(h.allot.deps.ctx.db.orm, org.id);
    const { reply } = await ws.command('UADMIN', '/tokens', `allowance member ${words}`);
    const after = await listLiveRules(h.allot.deps.ctx.db.orm, org.id);
    if (amount === null) {
      expect(textOf(reply)).toMatch(ambiguity);
      expect(after).toEqual(before);
    } else {
      expect(after.map((rule) => rule.amount)).toEqual([amount]);
    }
  });
});
