import { expect } from 'vitest';
import { getBalances } from '../../../src/ledger/ledger.usecases';
import { findMemberByIdentity, findOrganisationByWorkspace } from '../../../src/members/members.repository';
import type { FakeTeamsMember } from '../../support/fake-connector';
import {
  cardText,
  installationUpdateActivity,
  makePerson,
  messageActivity,
  newTenantId,
  personalConversation,
  type TeamsHarness,
} from './teams-harness';

// A Teams tenant seen through the harness, set up the way people would: installs, then admin commands.

type Conversation = ReturnType<typeof personalConversation>;

/**
 * A tenant with an admin (named by `adminEmail`, which must be in the harness's ALLOT_ADMINS), a manager
 * with a 100k budget and two reports, all with Allot installed — set up through the commands themselves.
 */
export async function setUpTeamsTeam(harness: TeamsHarness, adminEmail: string) {
  const tenantId = newTenantId();
  const ada = makePerson('Ada Admin', tenantId, adminEmail);
  const mia = makePerson('Mia Manager', tenantId);
  const ana = makePerson('Ana Lopez', tenantId);
  const ben = makePerson('Ben Ng', tenantId);
  const serviceUrl = harness.connector.url;
  for (const person of [ada, mia, ana, ben]) {
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

  /** Sends a message as `person` and returns the bot's reply to it (if any). */
  async function say(
    person: FakeTeamsMember,
    text: string,
    options: { mentions?: FakeTeamsMember[]; conversation?: Conversation; id?: string } = {},
  ) {
    const activity = messageActivity({
      serviceUrl,
      tenantId,
      from: person,
      conversation: options.conversation ?? personalConversation(person),
      text,
      mentions: options.mentions,
      id: options.id,
    });
    const response = await harness.post(activity);
    expect(response.status).toBe(200);
    const replies = harness.connector.sentActivities().filter((sent) => sent.replyToId === activity.id);
    return { activity, replies, reply: replies[0]?.activity };
  }

  const setup = [
    await say(ada, 'tokens role <at>Mia Manager</at> manager', { mentions: [mia] }),
    await say(ada, '/tokens manager <at>Ana Lopez</at> <at>Mia Manager</at>', { mentions: [ana, mia] }),
    await say(ada, 'tokens manager <at>Ben Ng</at> <at>Mia Manager</at>', { mentions: [ben, mia] }),
    await say(ada, 'tokens budget <at>Mia Manager</at> 100k Q3 budget', { mentions: [mia] }),
  ];
  expect(cardText(setup[0]!.reply)).toContain('Mia Manager is now a manager');
  expect(cardText(setup[3]!.reply)).toContain('100,000 tokens');

  const orm = harness.allot.deps.ctx.db.orm;
  const org = (await findOrganisationByWorkspace(orm, 'teams', tenantId))!;
  const memberOf = async (person: FakeTeamsMember) =>
    (await findMemberByIdentity(orm, org.id, 'teams', person.aadObjectId))!;
  const balances = async (person: FakeTeamsMember) => (await getBalances(orm, org.id, (await memberOf(person)).id))!;
  /** What the bot sent into someone's personal chat other than replies (notices, approval requests). */
  const proactiveTo = (person: FakeTeamsMember, after = 0) =>
    harness.connector
      .sentActivities()
      .slice(after)
      .filter((sent) => sent.conversationId === personalConversation(person).id && !/^\d+$/.test(sent.replyToId ?? ''));
  return { tenantId, serviceUrl, ada, mia, ana, ben, org, say, memberOf, balances, proactiveTo };
}
