import { afterAll, beforeAll, expect, it } from 'vitest';
import { listEnabledSchedules } from '../../../src/digest/digest.repository';
import { deliverDigest } from '../../../src/digest/digest.usecases';
import { auditLedger, getBalances } from '../../../src/ledger/ledger.usecases';
import { findMemberByIdentity } from '../../../src/members/members.repository';
import { findPersonalConversation } from '../../../src/teams/teams.repository';
import { forbiddenBody } from '../../support/fake-connector';
import { setUpTeamsTeam } from './team';
import {
  cardActionInvoke,
  cardButtons,
  cardText,
  channelConversation,
  installationUpdateActivity,
  makePerson,
  messageActivity,
  personalConversation,
  startTeamsHarness,
  type TeamsHarness,
} from './teams-harness';

const adminEmail = 'ada.admin@contoso.example';
let harness: TeamsHarness;
beforeAll(async () => {
  harness = await startTeamsHarness({ env: { ALLOT_ADMINS: adminEmail } });
});
afterAll(async () => harness?.close());

const setUpTeam = () => setUpTeamsTeam(harness, adminEmail);

it('a manager grants tokens in a channel by mentioning the bot; the recipient is told in their personal chat', async () => {
  const { mia, ana, ben, say, balances, proactiveTo, org } = await setUpTeam();
  const channel = channelConversation();
  const mark = harness.connector.sentActivities().length;
  const { reply } = await say(mia, 'grant-tokens <at>Ana Lopez</at> <at>Ben Ng</at> 20k shipped the migration', {
    mentions: [ana, ben],
    conversation: channel,
  });
  expect(cardText(reply)).toContain('You granted 20,000 tokens each to Ana Lopez and Ben Ng');
  expect(cardText(reply)).toContain('60,000 tokens');
  expect((await balances(ana)).wallet).toBe(20_000n);
  expect((await balances(ben)).wallet).toBe(20_000n);
  expect((await balances(mia)).budget).toBe(60_000n);
  const notice = proactiveTo(ana, mark);
  expect(notice).toHaveLength(1);
  expect(cardText(notice[0]!.activity)).toContain('Mia Manager granted you 20,000 tokens');
  expect(cardText(notice[0]!.activity)).toContain('shipped the migration');
  expect(await auditLedger(harness.allot.deps.ctx, { orgId: org.id })).toEqual([]);
});

it('refusals are friendly, say what to type instead, and change nothing', async () => {
  const { mia, ana, ben, say, balances } = await setUpTeam();
  const notManager = await say(ana, 'grant-tokens <at>Ben Ng</at> 5k thanks', { mentions: [ben] });
  expect(cardText(notManager.reply)).toContain('Only managers');
  const self = await say(mia, 'grant-tokens <at>Mia Manager</at> 5k me', { mentions: [mia] });
  expect(cardText(self.reply)).toContain("can't grant tokens to yourself");
  const badAmount = await say(mia, 'grant-tokens <at>Ana Lopez</at> -5 oops', { mentions: [ana] });
  expect(cardText(badAmount.reply)).toMatch(/50k/);
  const overBudget = await say(mia, 'grant-tokens <at>Ana Lopez</at> 1M too much', { mentions: [ana] });
  expect(cardText(overBudget.reply)).toMatch(/budget/i);
  // A hand-typed <at> tag without a mention entity names nobody.
  const forged = await say(mia, 'grant-tokens <at>Ben Ng</at> 5k', { mentions: [] });
  expect(forged.reply).toBeDefined();
  expect((await balances(ben)).wallet).toBe(0n);
  expect((await balances(ana)).wallet).toBe(0n);
  expect((await balances(mia)).budget).toBe(100_000n);
  const unknown = await say(ana, 'make-it-rain');
  expect(cardText(unknown.reply)).toContain('help');
});

it('balance answers with your own tokens, typed with or without a slash', async () => {
  const { mia, ana, say } = await setUpTeam();
  await say(mia, 'grant-tokens <at>Ana Lopez</at> 7k thanks', { mentions: [ana] });
  const plain = await say(ana, 'balance');
  const slashed = await say(ana, '/balance');
  expect(cardText(plain.reply)).toContain('7,000');
  expect(cardText(slashed.reply)).toBe(cardText(plain.reply));
  const help = await say(ana, '');
  expect(cardText(help.reply)).toContain('grant-tokens');
});

it('a redelivered message (same activity id) has no second effect', async () => {
  const { mia, ana, say, balances, proactiveTo, org } = await setUpTeam();
  const mark = harness.connector.sentActivities().length;
  const first = await say(mia, 'grant-tokens <at>Ana Lopez</at> 10k', { mentions: [ana] });
  const again = await say(mia, 'grant-tokens <at>Ana Lopez</at> 10k', { mentions: [ana], id: first.activity.id });
  expect(first.replies).toHaveLength(1);
  expect(again.replies).toHaveLength(1); // still the one reply sent for the first delivery
  expect((await balances(ana)).wallet).toBe(10_000n);
  expect(proactiveTo(ana, mark)).toHaveLength(1);
  expect(await auditLedger(harness.allot.deps.ctx, { orgId: org.id })).toEqual([]);
});

async function requestAndFindCard(team: Awaited<ReturnType<typeof setUpTeam>>, text: string) {
  const mark = harness.connector.sentActivities().length;
  const requested = await team.say(team.ana, text);
  expect(cardText(requested.reply)).toContain('Asked Mia Manager');
  const toMia = team.proactiveTo(team.mia, mark);
  expect(toMia).toHaveLength(1);
  // The id the connector gave the approval message is what Teams puts in replyToId on a click.
  expect(toMia[0]!.id).toBeDefined();
  return { card: toMia[0]!.activity, cardMessageId: toMia[0]!.id! };
}

it('request → approve through an Action.Execute invoke: the HTTP answer is the updated card, edited for everyone', async () => {
  const team = await setUpTeam();
  const { mia, ana, serviceUrl, tenantId, balances, proactiveTo, org } = team;
  const { card, cardMessageId } = await requestAndFindCard(team, 'request-tokens 30k eval runs');
  expect(cardText(card)).toContain('Ana Lopez asks for 30,000 tokens');
  const [approve, deny] = cardButtons(card);
  expect(approve).toMatchObject({ title: 'Approve', verb: 'request.approve' });
  expect(approve!.fallback).toMatchObject({ type: 'Action.Submit', data: approve!.data });
  expect(deny).toMatchObject({ title: 'Deny', verb: 'request.deny' });
  const mark = harness.connector.sentActivities().length;
  const putsBefore = harness.connector.updatedActivities().length;

  const click = cardActionInvoke({
    serviceUrl,
    tenantId,
    from: mia,
    conversation: personalConversation(mia),
    verb: approve!.verb,
    data: approve!.data,
    replyToId: cardMessageId,
  });
  const answered = await harness.post(click);
  expect(answered.status).toBe(200);
  expect(answered.body).toMatchObject({
    statusCode: 200,
    type: 'application/vnd.microsoft.card.adaptive',
    value: { type: 'AdaptiveCard', version: '1.5' },
  });
  const answeredText = cardText({ attachments: [{ content: (answered.body as { value: unknown }).value }] });
  expect(answeredText).toContain('Approved');
  expect(answeredText).toContain('Mia Manager');
  expect(cardButtons({ attachments: [{ content: (answered.body as { value: unknown }).value }] })).toEqual([]);
  expect((await balances(ana)).wallet).toBe(30_000n);
  expect((await balances(mia)).budget).toBe(70_000n);
  // Everyone sees the decision: the approval message was edited (PUT) where it was posted.
  const edits = harness.connector.updatedActivities().slice(putsBefore);
  expect(edits.map((edit) => [edit.conversationId, edit.activityId])).toContainEqual([
    personalConversation(mia).id,
    cardMessageId,
  ]);
  expect(cardText(proactiveTo(ana, mark)[0]?.activity)).toContain('approved');

  // A double click changes nothing: one top-up, and the answer still shows the decided card.
  const second = await harness.post({ ...click, id: `${click.id}-2` });
  expect(second.status).toBe(200);
  expect((await balances(ana)).wallet).toBe(30_000n);
  expect(await auditLedger(harness.allot.deps.ctx, { orgId: org.id })).toEqual([]);
});

it('request → approve through Action.Submit (older clients) edits the card and tops up once', async () => {
  const team = await setUpTeam();
  const { mia, serviceUrl, tenantId, balances, ana, org } = team;
  const { card, cardMessageId } = await requestAndFindCard(team, 'request-tokens 12k for evals');
  const [approve] = cardButtons(card);
  const putsBefore = harness.connector.updatedActivities().length;
  const submit = messageActivity({
    serviceUrl,
    tenantId,
    from: mia,
    conversation: personalConversation(mia),
    text: '',
    value: approve!.fallback.data,
    replyToId: cardMessageId,
  });
  expect((await harness.post(submit)).status).toBe(200);
  expect((await harness.post(submit)).status).toBe(200);
  expect((await balances(ana)).wallet).toBe(12_000n);
  const edits = harness.connector.updatedActivities().slice(putsBefore);
  expect(edits.some((edit) => edit.activityId === cardMessageId && cardText(edit.activity).includes('Approved'))).toBe(
    true,
  );
  expect(await auditLedger(harness.allot.deps.ctx, { orgId: org.id })).toEqual([]);
});

it('a 403 from Teams marks the personal chat unreachable and tells the granter; the grant stands', async () => {
  const { mia, ana, say, balances, org } = await setUpTeam();
  harness.connector.failNext({
    method: 'POST',
    pathIncludes: personalConversation(ana).id,
    status: 403,
    body: forbiddenBody,
  });
  const { reply } = await say(mia, 'grant-tokens <at>Ana Lopez</at> 4k thanks', { mentions: [ana] });
  expect(cardText(reply)).toContain('You granted 4,000 tokens');
  expect(cardText(reply)).toMatch(/blocked|left/);
  expect((await balances(ana)).wallet).toBe(4_000n);
  const orm = harness.allot.deps.ctx.db.orm;
  const stored = await findPersonalConversation(orm, org.id, ana.aadObjectId);
  expect(stored).toMatchObject({ reachable: false });
  expect(stored?.unreachableReason).toContain('MessageWritesBlocked');
  // While unreachable nothing more is attempted; a message from Ana makes her chat reachable again.
  const before = harness.connector.requests.length;
  await say(mia, 'grant-tokens <at>Ana Lopez</at> 1k more', { mentions: [ana] });
  expect(
    harness.connector.requests.slice(before).filter((request) => request.path.includes(personalConversation(ana).id)),
  ).toEqual([]);
  await say(ana, 'balance');
  expect(await findPersonalConversation(orm, org.id, ana.aadObjectId)).toMatchObject({ reachable: true });
});

it('429 with Retry-After and 502 from the connector are retried and the message arrives once', async () => {
  const { mia, ana, say, proactiveTo } = await setUpTeam();
  const mark = harness.connector.sentActivities().length;
  harness.connector.failNext({
    method: 'POST',
    pathIncludes: personalConversation(ana).id,
    status: 429,
    headers: { 'retry-after': '0' },
  });
  harness.connector.failNext({ method: 'POST', pathIncludes: personalConversation(mia).id, status: 502 });
  const { activity, replies } = await say(mia, 'grant-tokens <at>Ana Lopez</at> 2k thanks', { mentions: [ana] });
  // The reply to Mia: one 502, then delivered once.
  expect(replies).toHaveLength(1);
  const replyAttempts = harness.connector.sendAttempts().filter((sent) => sent.replyToId === activity.id);
  expect(replyAttempts.map((sent) => sent.status)).toEqual([502, 201]);
  // The notice to Ana: one 429, then delivered once.
  expect(proactiveTo(ana, mark)).toHaveLength(1);
  const noticeAttempts = harness.connector
    .sendAttempts()
    .filter((sent) => sent.conversationId === personalConversation(ana).id && sent.replyToId !== activity.id);
  expect(noticeAttempts.slice(-2).map((sent) => sent.status)).toEqual([429, 201]);
});

it('two admins approving at once: exactly one top-up, both see the decided card, the later one is told', async () => {
  const team = await setUpTeam();
  const { ada, serviceUrl, tenantId, say, org } = team;
  const eve = makePerson('Eve Admin', tenantId);
  const cy = makePerson('Cy Solo', tenantId);
  for (const person of [eve, cy]) {
    harness.connector.addMember(person);
    await harness.post(
      installationUpdateActivity({
        serviceUrl,
        tenantId,
        from: person,
        conversation: personalConversation(person),
        action: 'add',
      }),
    );
  }
  await say(ada, 'tokens role <at>Eve Admin</at> admin', { mentions: [eve] });
  // Cy has no manager, so the request goes to the admins, each getting a card.
  const mark = harness.connector.sentActivities().length;
  const requested = await say(cy, 'request-tokens 40k new project');
  expect(cardText(requested.reply)).toContain('the admins');
  const cards = [ada, eve].map((admin) => team.proactiveTo(admin, mark)[0]!);
  expect(cards.every(Boolean)).toBe(true);
  const clicks = [ada, eve].map((admin, index) => {
    const [approve] = cardButtons(cards[index]!.activity);
    return cardActionInvoke({
      serviceUrl,
      tenantId,
      from: admin,
      conversation: personalConversation(admin),
      verb: approve!.verb,
      data: approve!.data,
      replyToId: cards[index]!.id!,
    });
  });
  const answers = await Promise.all(clicks.map((click) => harness.post(click)));
  for (const answer of answers) {
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    expect(cardText({ attachments: [{ content: (answer.body as { value: unknown }).value }] })).toContain('Approved');
  }
  const orm = harness.allot.deps.ctx.db.orm;
  const cyMember = (await findMemberByIdentity(orm, org.id, 'teams', cy.aadObjectId))!;
  expect((await getBalances(orm, org.id, cyMember.id))!.wallet).toBe(40_000n);
  // The admin who lost the race got a message saying it was already decided.
  const toldLate = clicks.filter((click) =>
    harness.connector.sentActivities().some((sent) => sent.replyToId === click.id),
  );
  expect(toldLate).toHaveLength(1);
  expect(await auditLedger(harness.allot.deps.ctx, { orgId: org.id })).toEqual([]);
});

it('request → deny with a reason typed on the card: no tokens move and the requester is told why', async () => {
  const team = await setUpTeam();
  const { mia, ana, serviceUrl, tenantId, balances, proactiveTo } = team;
  const { card, cardMessageId } = await requestAndFindCard(team, 'request-tokens 9k please');
  const [, deny] = cardButtons(card);
  const mark = harness.connector.sentActivities().length;
  const answered = await harness.post(
    cardActionInvoke({
      serviceUrl,
      tenantId,
      from: mia,
      conversation: personalConversation(mia),
      verb: deny!.verb,
      // Teams merges the card's inputs into the clicked button's data.
      data: { ...(deny!.data as object), allotNote: 'not this quarter' },
      replyToId: cardMessageId,
    }),
  );
  const decided = cardText({ attachments: [{ content: (answered.body as { value: unknown }).value }] });
  expect(decided).toContain('Denied');
  expect(decided).toContain('not this quarter');
  expect((await balances(ana)).wallet).toBe(0n);
  expect((await balances(mia)).budget).toBe(100_000n);
  const notice = cardText(proactiveTo(ana, mark)[0]?.activity);
  expect(notice).toContain('denied');
  expect(notice).toContain('not this quarter');
});

it('a turn that fails is logged and answered; the server keeps serving', async () => {
  const { ana, serviceUrl, tenantId, say } = await setUpTeam();
  const broken = messageActivity({
    serviceUrl,
    tenantId,
    from: ana,
    conversation: personalConversation(ana),
    text: 'balance',
  }) as Record<string, unknown>;
  delete broken.from;
  const response = await harness.post(broken);
  expect(response.status).toBe(200);
  const apology = harness.connector.sentActivities().find((sent) => sent.replyToId === broken.id);
  expect(String(apology?.activity.text)).toContain('Something went wrong');
  const after = await say(ana, 'balance');
  expect(after.reply).toBeDefined();
});

it('an admin schedules the digest by typing in the channel that should receive it, and it is posted there', async () => {
  const team = await setUpTeam();
  const channel = channelConversation(`19:digest-${team.tenantId.slice(0, 8)}@thread.tacv2`);
  const { reply } = await team.say(team.ada, 'tokens digest "0 9 * * MON" Europe/Berlin', { conversation: channel });
  expect(cardText(reply)).toContain('The weekly digest will be posted to this conversation');
  const orm = harness.allot.deps.ctx.db.orm;
  const [schedule] = await listEnabledSchedules(orm, team.org.id);
  const channelId = channel.id.split(';messageid=')[0]!;
  expect(schedule).toMatchObject({ platform: 'teams', destination: { conversationId: channelId } });

  const from = harness.connector.sentActivities().length;
  const outcome = await deliverDigest(
    { ...harness.allot.deps, sleep: async () => {} },
    { orgId: team.org.id, scheduleId: schedule!.id, slot: new Date('2026-11-30T08:00:00Z') },
  );
  expect(outcome).toBe('sent');
  const posted = harness.connector.sentActivities().slice(from);
  expect(posted.map((sent) => sent.conversationId)).toEqual([channelId]);
  expect(cardText(posted[0]!.activity)).toContain('Allot weekly digest');

  const personal = await team.say(team.ada, 'tokens digest "0 9 * * MON" Europe/Berlin');
  expect(cardText(personal.reply)).toContain('Type the command in the channel');
  const member = await team.say(team.ana, 'tokens digest "0 9 * * MON" UTC', { conversation: channel });
  expect(cardText(member.reply)).toContain('Only admins can schedule the digest');
});
