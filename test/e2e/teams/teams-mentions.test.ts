import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listLiveRules } from '../../../src/allowances/allowances.repository';
import { auditLedger, getBalances } from '../../../src/ledger/ledger.usecases';
import { findMemberByIdentity, findOrganisationByWorkspace } from '../../../src/members/members.repository';
import type { FakeTeamsMember } from '../../support/fake-connector';
import {
  botAccount,
  cardText,
  channelConversation,
  groupChatConversation,
  installationUpdateActivity,
  makePerson,
  messageActivity,
  newTenantId,
  personalConversation,
  startTeamsHarness,
  type TeamsHarness,
} from './teams-harness';

// Mention entities as Teams really sends them, end to end through the botbuilder endpoint: an entity
// without `text` (Teams does this for names with "&"), and one person split into one entity per word
// of their name ("<at>Mia</at> <at>Manager</at>", same mentioned.id). Every command that names people
// must read each person once, in personal chats, group chats and channels alike.

const adminEmail = 'ada.admin@contoso.example';
let harness: TeamsHarness;
beforeAll(async () => {
  harness = await startTeamsHarness({ env: { ALLOT_ADMINS: adminEmail } });
});
afterAll(async () => harness?.close());

const conversations = [
  { where: 'a personal chat', conversation: (person: FakeTeamsMember) => personalConversation(person) },
  { where: 'a group chat', conversation: () => groupChatConversation() },
  { where: 'a channel', conversation: () => channelConversation() },
];

/** Teams' tag for a name in message text: HTML-escaped. */
const tag = (name: string) => `<at>${name.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</at>`;

/** One entity per word, as Teams sends a name with spaces. */
function splitEntities(person: FakeTeamsMember) {
  return person.name!.split(' ').map((word) => ({
    type: 'mention',
    text: `<at>${word}</at>`,
    mentioned: { id: person.id, name: person.name },
  }));
}
const splitTags = (person: FakeTeamsMember) =>
  person
    .name!.split(' ')
    .map((word) => `<at>${word}</at>`)
    .join(' ');

/** An entity with no `text`, as Teams sends a name with "&". */
const textless = (person: FakeTeamsMember) => ({ type: 'mention', mentioned: { id: person.id, name: person.name } });

async function setUpTenant(where: (typeof conversations)[number]) {
  const tenantId = newTenantId();
  const ada = makePerson('Ada Admin', tenantId, adminEmail);
  const mia = makePerson('Mia Manager', tenantId);
  const tom = makePerson('Tom & Jerry', tenantId, 'tom.jerry@contoso.example');
  const ana = makePerson('Ana Lopez', tenantId);
  const serviceUrl = harness.connector.url;
  for (const person of [ada, mia, tom, ana]) {
    harness.connector.addMember(person);
    const installed = await harness.post(
      installationUpdateActivity({
        serviceUrl,
        tenantId,
        from: person,
        conversation: personalConversation(person),
        action: 'add',
      }),
    );
    expect(installed.status).toBe(200);
  }

  /** Sends `text` as `person` with the given mention entities; returns the text of the bot's reply card. */
  async function say(
    person: FakeTeamsMember,
    text: string,
    entities: Record<string, unknown>[],
    botMention?: Parameters<typeof messageActivity>[0]['botMention'],
  ) {
    const activity = messageActivity({
      serviceUrl,
      tenantId,
      from: person,
      conversation: where.conversation(person),
      text,
      entities,
      botMention,
    });
    const response = await harness.post(activity);
    expect(response.status).toBe(200);
    const reply = harness.connector.sentActivities().find((sent) => sent.replyToId === activity.id);
    return cardText(reply?.activity);
  }

  const orm = harness.allot.deps.ctx.db.orm;
  const org = async () => (await findOrganisationByWorkspace(orm, 'teams', tenantId))!;
  const memberOf = async (person: FakeTeamsMember) =>
    (await findMemberByIdentity(orm, (await org()).id, 'teams', person.aadObjectId))!;
  const balances = async (person: FakeTeamsMember) =>
    (await getBalances(orm, (await org()).id, (await memberOf(person)).id))!;
  const audit = async () => auditLedger(harness.allot.deps.ctx, { orgId: (await org()).id });
  return { ada, mia, tom, ana, say, org, memberOf, balances, audit };
}

describe.each(conversations)('mentions as Teams sends them, in $where', (where) => {
  it('tokens budget for one person split into two entities adds the amount to that one budget', async () => {
    const { ada, mia, say, balances, audit } = await setUpTenant(where);
    await say(ada, `tokens role ${splitTags(mia)} manager`, splitEntities(mia));
    const reply = await say(ada, `tokens budget ${splitTags(mia)} 1000 Q3`, splitEntities(mia));
    expect(reply).toContain("Added 1,000 tokens to Mia Manager's budget");
    expect((await balances(mia)).budget).toBe(1_000n);
    expect(await audit()).toEqual([]);
  });

  it('grant-tokens to a person whose entity has no text grants them, and the escaped name is not read as words', async () => {
    const { ada, tom, ana, say, balances, audit } = await setUpTenant(where);
    const reply = await say(ada, `grant-tokens ${tag(tom.name!)} ${tag(ana.name!)} 500 for the demo`, [
      textless(tom),
      { type: 'mention', text: tag(ana.name!), mentioned: { id: ana.id, name: ana.name } },
    ]);
    expect(reply).toContain('Tom & Jerry');
    expect(reply).toContain('Ana Lopez');
    expect(reply).toContain('for the demo');
    expect((await balances(tom)).wallet).toBe(500n);
    expect((await balances(ana)).wallet).toBe(500n);
    expect(await audit()).toEqual([]);
  });

  it('balance of a person whose entity has no text shows that person', async () => {
    const { ada, tom, say } = await setUpTenant(where);
    const reply = await say(ada, `balance ${tag(tom.name!)}`, [textless(tom)]);
    expect(reply).toContain('Tokens of Tom & Jerry');
  });

  it('tokens role and tokens manager read each person once, split or without text', async () => {
    const { ada, mia, tom, say, memberOf } = await setUpTenant(where);
    expect(await say(ada, `tokens role ${splitTags(mia)} manager`, splitEntities(mia))).toContain(
      'Mia Manager is now a manager',
    );
    const reply = await say(ada, `tokens manager ${tag(tom.name!)} ${splitTags(mia)}`, [
      textless(tom),
      ...splitEntities(mia),
    ]);
    expect(reply).toContain('Mia Manager now manages Tom & Jerry');
    expect((await memberOf(tom)).managerId).toBe((await memberOf(mia)).id);
  });

  it('tokens allowance for a person split into two entities sets their allowance', async () => {
    const { ada, mia, say, org, memberOf } = await setUpTenant(where);
    const reply = await say(ada, `tokens allowance ${splitTags(mia)} 10k monthly`, splitEntities(mia));
    expect(reply).toContain('Mia Manager');
    const rules = await listLiveRules(harness.allot.deps.ctx.db.orm, (await org()).id);
    expect(rules.map((rule) => [rule.memberId, rule.amount])).toEqual([[(await memberOf(mia)).id, 10_000n]]);
  });
});

describe.each(conversations.slice(1))("the bot's own mention as Teams sends it, in $where", (where) => {
  it('a bot mention without text, or split in two, is taken out and the command still reads', async () => {
    const { ada, mia, say, balances } = await setUpTenant(where);
    await say(ada, `tokens role ${splitTags(mia)} manager`, splitEntities(mia));
    const textlessBot = { text: `<at>${botAccount.name}</at>`, entities: [{ type: 'mention', mentioned: botAccount }] };
    expect(await say(ada, `tokens budget ${splitTags(mia)} 1000`, splitEntities(mia), textlessBot)).toContain(
      "Added 1,000 tokens to Mia Manager's budget",
    );
    const splitBot = {
      text: '<at>Allot</at> <at>Bot</at>',
      entities: ['Allot', 'Bot'].map((word) => ({
        type: 'mention',
        text: `<at>${word}</at>`,
        mentioned: { id: botAccount.id, name: 'Allot Bot' },
      })),
    };
    expect(await say(ada, `tokens budget ${splitTags(mia)} 2000`, splitEntities(mia), splitBot)).toContain(
      "Added 2,000 tokens to Mia Manager's budget",
    );
    expect((await balances(mia)).budget).toBe(3_000n);
  });
});
