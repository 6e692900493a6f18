import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ledgerRepo from '../../../src/ledger/ledger.repository';
import { auditLedger } from '../../../src/ledger/ledger.usecases';
import type { FakeTeamsMember } from '../../support/fake-connector';
import { setUpTeamsTeam } from './team';
import {
  cardActionInvoke,
  cardButtons,
  cardText,
  channelConversation,
  messageActivity,
  personalConversation,
  startTeamsHarness,
  type TeamsHarness,
} from './teams-harness';

// In Teams a grant or budget issue of more than 10,000,000 tokens in all is answered with an Adaptive
// Card asking to Confirm or Cancel. Confirming posts exactly once (the command's activity id is the ledger
// key: a double click, a redelivered click or the Action.Submit fallback replays), the answer replaces
// the question for everyone, cancelling posts nothing, and only the person who typed it may press.

const adminEmail = 'ada.admin@contoso.example';
let harness: TeamsHarness;
beforeAll(async () => {
  harness = await startTeamsHarness({ env: { ALLOT_ADMINS: adminEmail } });
});
afterAll(async () => harness?.close());

type Team = Awaited<ReturnType<typeof setUpTeamsTeam>>;
type Conversation = ReturnType<typeof channelConversation>;

/** Types a command that must be answered with a confirmation card; returns the card, its message id and buttons. */
async function asked(
  team: Team,
  person: FakeTeamsMember,
  text: string,
  mentions: FakeTeamsMember[],
  conversation: Conversation,
) {
  const { replies } = await team.say(person, text, { mentions, conversation });
  expect(replies).toHaveLength(1);
  const question = replies[0]!;
  const [confirm, cancel] = cardButtons(question.activity);
  expect([confirm?.verb, cancel?.verb]).toEqual(['operation.confirm', 'operation.cancel']);
  return { card: question.activity, messageId: question.id!, confirm: confirm!, cancel: cancel! };
}

type Question = Awaited<ReturnType<typeof asked>>;

/** `person` presses a button of the question (Action.Execute); returns the invoke's HTTP answer. */
async function press(
  team: Team,
  person: FakeTeamsMember,
  question: Question,
  button: 'confirm' | 'cancel',
  conversation: Conversation,
) {
  const { verb, data } = question[button];
  const answer = await harness.post(
    cardActionInvoke({
      serviceUrl: team.serviceUrl,
      tenantId: team.tenantId,
      from: person,
      conversation,
      verb,
      data,
      replyToId: question.messageId,
    }),
  );
  expect(answer.status).toBe(200);
  return answer.body as { statusCode: number; type: string; value: unknown };
}

const answeredCard = (body: { value: unknown }) => ({ attachments: [{ content: body.value }] });
const grantsOf = async (team: Team) =>
  (await ledgerRepo.listTransfers(harness.allot.deps.ctx.db.orm, { orgId: team.org.id, limit: 1000 })).filter(
    (t) => t.code === 'grant',
  );

describe('a grant of more than 10,000,000 tokens in all, in Teams', () => {
  it('asks with a card and moves nothing; Confirm grants once, replaces the card for everyone; a double click replays', async () => {
    const team = await setUpTeamsTeam(harness, adminEmail);
    const { ada, ana, ben, balances, proactiveTo } = team;
    const channel = channelConversation();
    const mark = harness.connector.sentActivities().length;
    const question = await asked(
      team,
      ada,
      'grant-tokens <at>Ana Lopez</at> <at>Ben Ng</at> 6M launch bonus',
      [ana, ben],
      channel,
    );
    expect(cardText(question.card)).toContain(
      'Grant 6,000,000 tokens each to Ana Lopez and Ben Ng (12,000,000 tokens in all): _launch bonus_?',
    );
    expect(question.confirm.title).toBe('Confirm 12,000,000 tokens');
    expect(question.confirm.fallback).toMatchObject({ type: 'Action.Submit', data: question.confirm.data });
    expect((await balances(ana)).wallet).toBe(0n);

    const putsBefore = harness.connector.updatedActivities().length;
    const answer = await press(team, ada, question, 'confirm', channel);
    expect(answer).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    expect(cardText(answeredCard(answer))).toContain('You granted 6,000,000 tokens each to Ana Lopez and Ben Ng');
    expect(cardButtons(answeredCard(answer))).toEqual([]);
    const edits = harness.connector.updatedActivities().slice(putsBefore);
    expect(edits.map((edit) => edit.activityId)).toEqual([question.messageId]);
    expect(cardText(edits[0]!.activity)).toContain('You granted 6,000,000 tokens each');
    expect((await balances(ana)).wallet).toBe(6_000_000n);
    expect((await balances(ben)).wallet).toBe(6_000_000n);

    const again = await press(team, ada, question, 'confirm', channel);
    expect(cardText(answeredCard(again))).toContain('You granted 6,000,000 tokens each');
    await Promise.all([press(team, ada, question, 'confirm', channel), press(team, ada, question, 'confirm', channel)]);
    expect(await grantsOf(team)).toHaveLength(2);
    expect((await balances(ana)).wallet).toBe(6_000_000n);
    expect(proactiveTo(ana, mark)).toHaveLength(1);
    expect(proactiveTo(ben, mark)).toHaveLength(1);
    expect(await auditLedger(harness.allot.deps.ctx, { orgId: team.org.id })).toEqual([]);
  });

  it('Cancel posts nothing and replaces the card; a Confirm pressed after it posts nothing either', async () => {
    const team = await setUpTeamsTeam(harness, adminEmail);
    const { ada, ana, balances } = team;
    const channel = channelConversation();
    const question = await asked(team, ada, 'grant-tokens <at>Ana Lopez</at> 20M', [ana], channel);
    const cancelled = await press(team, ada, question, 'cancel', channel);
    expect(cardText(answeredCard(cancelled))).toBe('Cancelled: nothing was moved.');
    const late = await press(team, ada, question, 'confirm', channel);
    expect(cardText(answeredCard(late))).toBe('Cancelled: nothing was moved.');
    expect(await grantsOf(team)).toEqual([]);
    expect((await balances(ana)).wallet).toBe(0n);
  });

  it('only the person who typed the command may press; anyone else is told so, and the card stays', async () => {
    const team = await setUpTeamsTeam(harness, adminEmail);
    const { ada, mia, ana, balances } = team;
    const channel = channelConversation();
    const question = await asked(team, ada, 'grant-tokens <at>Ana Lopez</at> 11M', [ana], channel);
    const putsBefore = harness.connector.updatedActivities().length;
    for (const button of ['confirm', 'cancel'] as const) {
      const refused = await press(team, mia, question, button, channel);
      expect(refused).toEqual({
        statusCode: 200,
        type: 'application/vnd.microsoft.activity.message',
        value: 'Only the person who typed this command can confirm or cancel it.',
      });
    }
    expect(harness.connector.updatedActivities().slice(putsBefore)).toEqual([]);
    expect((await balances(ana)).wallet).toBe(0n);
    expect(cardText(answeredCard(await press(team, ada, question, 'confirm', channel)))).toContain(
      'You granted 11,000,000 tokens',
    );
    expect((await balances(ana)).wallet).toBe(11_000_000n);
  });

  it('older clients confirm with Action.Submit: the card is edited and the grant posts once, however often it arrives', async () => {
    const team = await setUpTeamsTeam(harness, adminEmail);
    const { ada, ana, balances } = team;
    const channel = channelConversation();
    const question = await asked(team, ada, 'grant-tokens <at>Ana Lopez</at> 15M', [ana], channel);
    const putsBefore = harness.connector.updatedActivities().length;
    const submit = (id?: string) =>
      messageActivity({
        serviceUrl: team.serviceUrl,
        tenantId: team.tenantId,
        from: ada,
        conversation: channel,
        text: '',
        value: question.confirm.fallback.data,
        replyToId: question.messageId,
        id,
      });
    const first = submit();
    expect((await harness.post(first)).status).toBe(200);
    expect((await harness.post(first)).status).toBe(200); // redelivered: same activity id
    expect((await harness.post(submit())).status).toBe(200); // pressed again: a new activity
    expect((await balances(ana)).wallet).toBe(15_000_000n);
    expect(await grantsOf(team)).toHaveLength(1);
    const edits = harness.connector.updatedActivities().slice(putsBefore);
    expect(edits.length).toBeGreaterThan(0);
    expect(edits.every((edit) => edit.activityId === question.messageId)).toBe(true);
    expect(cardText(edits[0]!.activity)).toContain('You granted 15,000,000 tokens');
  });
});

describe('a budget of more than 10,000,000 tokens, in Teams', () => {
  it('asks in the personal chat; Confirm issues it once', async () => {
    const team = await setUpTeamsTeam(harness, adminEmail);
    const { ada, mia, balances } = team;
    const personal = personalConversation(ada);
    const before = (await balances(mia)).budget;
    const question = await asked(team, ada, 'tokens budget <at>Mia Manager</at> 25M annual', [mia], personal);
    expect(cardText(question.card)).toContain("Add 25,000,000 tokens to Mia Manager's budget: _annual_?");
    expect((await balances(mia)).budget).toBe(before);
    await press(team, ada, question, 'confirm', personal);
    await press(team, ada, question, 'confirm', personal);
    expect((await balances(mia)).budget).toBe(before + 25_000_000n);
    expect(await auditLedger(harness.allot.deps.ctx, { orgId: team.org.id })).toEqual([]);
  });
});
