import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listLiveRules } from '../../../src/allowances/allowances.repository';
import { listRequestsByRequester } from '../../../src/approvals/approvals.repository';
import * as ledgerRepo from '../../../src/ledger/ledger.repository';
import { auditLedger } from '../../../src/ledger/ledger.usecases';
import { setUpTeamsTeam } from './team';
import { cardText, channelConversation, startTeamsHarness, type TeamsHarness } from './teams-harness';

// The amount rule (issue #11.1) through the real botbuilder endpoint, in every Teams command that
// reads an amount: exactly the amount typed as a number, or nothing and a question showing both
// readings. Typed in a channel (mentioning the bot) and in the personal chat.

const adminEmail = 'ada.admin@contoso.example';
let harness: TeamsHarness;
beforeAll(async () => {
  harness = await startTeamsHarness({ env: { ALLOT_ADMINS: adminEmail } });
});
afterAll(async () => harness?.close());

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

type Team = Awaited<ReturnType<typeof setUpTeamsTeam>>;
const transfersOf = (team: Team) =>
  ledgerRepo.listTransfers(harness.allot.deps.ctx.db.orm, { orgId: team.org.id, limit: 1000 });

describe('grant-tokens grants exactly the amount typed, or asks which was meant and grants nothing', () => {
  let team: Team;
  const channel = channelConversation();
  beforeAll(async () => {
    team = await setUpTeamsTeam(harness, adminEmail);
  });

  it.each(named)('%s', async (_name, words, amount) => {
    const { mia, ana, say, balances } = team;
    const [before, transfersBefore] = [await balances(ana), (await transfersOf(team)).length];
    const budgetBefore = (await balances(mia)).budget;
    const { reply } = await say(mia, `grant-tokens <at>Ana Lopez</at> ${words}`, {
      mentions: [ana],
      conversation: channel,
    });
    if (amount === null) {
      expect(cardText(reply)).toMatch(ambiguity);
      expect((await transfersOf(team)).length).toBe(transfersBefore);
    } else {
      expect(cardText(reply)).toContain('You granted');
    }
    expect((await balances(ana)).wallet).toBe(before.wallet + (amount ?? 0n));
    expect((await balances(mia)).budget).toBe(budgetBefore - (amount ?? 0n));
    expect(await auditLedger(harness.allot.deps.ctx, { orgId: team.org.id })).toEqual([]);
  });
});

describe('request-tokens asks for exactly the amount typed, or asks which was meant and requests nothing', () => {
  let team: Team;
  beforeAll(async () => {
    team = await setUpTeamsTeam(harness, adminEmail);
  });

  it.each(named)('%s', async (_name, words, amount) => {
    const { ana, say, memberOf, org } = team;
    const requester = await memberOf(ana);
    const requests = () =>
      listRequestsByRequester(harness.allot.deps.ctx.db.orm, { orgId: org.id, requesterId: requester.id, limit: 100 });
    const before = await requests();
    const { reply } = await say(ana, `request-tokens ${words}`);
    const after = await requests();
    if (amount === null) {
      expect(cardText(reply)).toMatch(ambiguity);
      expect(after).toHaveLength(before.length);
    } else {
      expect(after).toHaveLength(before.length + 1);
      expect(after[0]!.amount).toBe(amount);
    }
  });
});

describe('tokens budget issues exactly the amount typed, or asks which was meant and issues nothing', () => {
  let team: Team;
  beforeAll(async () => {
    team = await setUpTeamsTeam(harness, adminEmail);
  });

  it.each(named)('%s', async (_name, words, amount) => {
    const { ada, mia, say, balances } = team;
    const [budgetBefore, transfersBefore] = [(await balances(mia)).budget, (await transfersOf(team)).length];
    const { reply } = await say(ada, `tokens budget <at>Mia Manager</at> ${words}`, { mentions: [mia] });
    if (amount === null) {
      expect(cardText(reply)).toMatch(ambiguity);
      expect((await transfersOf(team)).length).toBe(transfersBefore);
    }
    expect((await balances(mia)).budget).toBe(budgetBefore + (amount ?? 0n));
    expect(await auditLedger(harness.allot.deps.ctx, { orgId: team.org.id })).toEqual([]);
  });
});

describe('tokens allowance sets exactly the amount typed, or asks which was meant and sets nothing', () => {
  let team: Team;
  beforeAll(async () => {
    team = await setUpTeamsTeam(harness, adminEmail);
  });

  it.each([
    ['"50 100 monthly"', '50 100 monthly', null],
    ['"1 000 monthly" with a no-break space', '1\u00a0000 monthly', 1_000n],
    ['"50 000 monthly"', '50 000 monthly', null],
    ['"50k monthly"', '50k monthly', 50_000n],
  ] as const)('%s', async (_name, words, amount) => {
    const { ada, say, org } = team;
    const before = await listLiveRules(harness.allot.deps.ctx.db.orm, org.id);
    const { reply } = await say(ada, `tokens allowance member ${words}`);
    const after = await listLiveRules(harness.allot.deps.ctx.db.orm, org.id);
    if (amount === null) {
      expect(cardText(reply)).toMatch(ambiguity);
      expect(after).toEqual(before);
    } else {
      expect(after.map((rule) => rule.amount)).toEqual([amount]);
    }
  });
});
