import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCommand } from '../../../src/chat/commands.usecases';
import { getBalances } from '../../../src/ledger/ledger.usecases';
import { operatorActor } from '../../../src/lib/context';
import {
  findMemberByIdentity,
  findOrganisationByWorkspace,
  listIdentities,
} from '../../../src/members/members.repository';
import { memberIdentities } from '../../../src/members/members.tables';
import { addMember, setRole } from '../../../src/members/members.usecases';
import { ensureOrganisationForWorkspace, linkWorkspace } from '../../../src/members/organisations.usecases';
import { teamsConversations } from '../../../src/teams/teams.tables';
import {
  cardText,
  channelConversation,
  conversationUpdateActivity,
  installationUpdateActivity,
  makePerson,
  messageActivity,
  newTenantId,
  personalConversation,
  startTeamsHarness,
  type TeamsHarness,
} from './teams-harness';

let harness: TeamsHarness;
beforeAll(async () => {
  harness = await startTeamsHarness();
});
afterAll(async () => harness?.close());

const conversationRows = async (orgId: bigint) =>
  harness.allot.deps.ctx.db.orm.select().from(teamsConversations).where(eq(teamsConversations.orgId, orgId));

it('installing the app in a personal chat stores a conversation reference for that person', async () => {
  const tenantId = newTenantId();
  const ana = makePerson('Ana Lopez', tenantId);
  harness.connector.addMember(ana);
  const conversation = personalConversation(ana);
  const response = await harness.post(
    installationUpdateActivity({ serviceUrl: harness.connector.url, tenantId, from: ana, conversation, action: 'add' }),
  );
  expect(response.status).toBe(200);
  const org = (await findOrganisationByWorkspace(harness.allot.deps.ctx.db.orm, 'teams', tenantId))!;
  const [row] = await conversationRows(org.id);
  expect(row).toMatchObject({
    conversationId: conversation.id,
    conversationType: 'personal',
    tenantId,
    serviceUrl: harness.connector.url,
    memberAadObjectId: ana.aadObjectId,
    reachable: true,
  });
  expect(row!.reference).toMatchObject({
    channelId: 'msteams',
    serviceUrl: harness.connector.url,
    conversation: { id: conversation.id },
    bot: { id: '28:00000000-0000-0000-0000-00000000b07' },
  });
  // Uninstalling marks it unreachable; nothing is sent there until the person writes again.
  await harness.post(
    installationUpdateActivity({
      serviceUrl: harness.connector.url,
      tenantId,
      from: ana,
      conversation,
      action: 'remove',
    }),
  );
  expect((await conversationRows(org.id))[0]).toMatchObject({ reachable: false, unreachableReason: 'app uninstalled' });
  await harness.post(
    messageActivity({ serviceUrl: harness.connector.url, tenantId, from: ana, conversation, text: 'balance' }),
  );
  expect((await conversationRows(org.id))[0]).toMatchObject({ reachable: true, unreachableReason: null });
});

it('adding the bot to a team channel stores the channel; removing it marks the channel unreachable', async () => {
  const tenantId = newTenantId();
  const mia = makePerson('Mia Manager', tenantId);
  const channel = channelConversation('19:platform-team@thread.tacv2');
  const added = await harness.post(
    conversationUpdateActivity({
      serviceUrl: harness.connector.url,
      tenantId,
      from: mia,
      conversation: channel,
      botAdded: true,
    }),
  );
  expect(added.status).toBe(200);
  const org = (await findOrganisationByWorkspace(harness.allot.deps.ctx.db.orm, 'teams', tenantId))!;
  // A channel is stored under its root id (without ;messageid=…), so the digest posts to the channel itself.
  expect(await conversationRows(org.id)).toEqual([
    expect.objectContaining({
      conversationId: channel.id.split(';messageid=')[0],
      conversationType: 'channel',
      teamId: '19:platform-team@thread.tacv2',
      memberAadObjectId: null,
      reachable: true,
    }),
  ]);
  await harness.post(
    conversationUpdateActivity({
      serviceUrl: harness.connector.url,
      tenantId,
      from: mia,
      conversation: channel,
      botRemoved: true,
    }),
  );
  expect((await conversationRows(org.id))[0]).toMatchObject({ reachable: false });
});

it('a person seen for the first time is created from TeamsInfo.getMember, keyed by tenant and Entra object id', async () => {
  const tenantId = newTenantId();
  const ben = makePerson('Ben Ng', tenantId, 'Ben.Ng@Contoso.example');
  harness.connector.addMember(ben);
  const conversation = personalConversation(ben);
  const send = () =>
    harness.post(
      messageActivity({ serviceUrl: harness.connector.url, tenantId, from: ben, conversation, text: 'balance' }),
    );
  const lookups = () =>
    harness.connector.requests.filter(
      (request) => request.method === 'GET' && request.path.endsWith(`/members/${ben.id}`),
    );
  await send();
  expect(lookups()).toHaveLength(1);
  const orm = harness.allot.deps.ctx.db.orm;
  const org = (await findOrganisationByWorkspace(orm, 'teams', tenantId))!;
  const member = await findMemberByIdentity(orm, org.id, 'teams', ben.aadObjectId);
  expect(member).toMatchObject({ displayName: 'Ben Ng', email: 'ben.ng@contoso.example', role: 'member' });
  const [identity] = await listIdentities(orm, org.id, member!.id);
  expect(identity).toMatchObject({ platform: 'teams', externalId: ben.aadObjectId, workspaceId: tenantId });
  expect(identity!.details).toMatchObject({ userId: ben.id });
  await send();
  expect(lookups()).toHaveLength(1);
  // Named by someone else later, Ben is recognised by his 29: id without another lookup.
  const mia = makePerson('Mia Manager', tenantId);
  harness.connector.addMember(mia);
  for (let round = 0; round < 2; round += 1) {
    await harness.post(
      messageActivity({
        serviceUrl: harness.connector.url,
        tenantId,
        from: mia,
        conversation: channelConversation(),
        text: 'balance <at>Ben Ng</at>',
        mentions: [ben],
      }),
    );
  }
  expect(lookups()).toHaveLength(1);
});

it('a guest whose UPN is not an email is created without one; people named are looked up by their mention id', async () => {
  const tenantId = newTenantId();
  const mia = makePerson('Mia Manager', tenantId);
  const guest = {
    ...makePerson('Gus Guest', tenantId),
    email: undefined,
    userPrincipalName: 'gus_fabrikam.example#EXT#@contoso.onmicrosoft.com',
    userRole: 'guest' as const,
  };
  harness.connector.addMember(mia);
  harness.connector.addMember(guest);
  await harness.post(
    messageActivity({
      serviceUrl: harness.connector.url,
      tenantId,
      from: mia,
      conversation: channelConversation(),
      text: 'balance <at>Gus Guest</at>',
      mentions: [guest],
    }),
  );
  expect(
    harness.connector.requests.some(
      (request) => request.method === 'GET' && request.path.endsWith(`/members/${guest.id}`),
    ),
  ).toBe(true);
  const orm = harness.allot.deps.ctx.db.orm;
  const org = (await findOrganisationByWorkspace(orm, 'teams', tenantId))!;
  expect(await findMemberByIdentity(orm, org.id, 'teams', guest.aadObjectId)).toMatchObject({
    displayName: 'Gus Guest',
    email: null,
  });
});

it('a person granted tokens on Slack sees them with balance on Teams: one member, one wallet', async () => {
  const ctx = harness.allot.deps.ctx;
  const slackTeamId = `T${Date.now()}`;
  const tenantId = newTenantId();
  const org = await ensureOrganisationForWorkspace(ctx, {
    platform: 'slack',
    externalId: slackTeamId,
    name: 'Contoso',
  });
  // The same company's Teams tenant belongs to the same organisation (an operator links it).
  await linkWorkspace(ctx, { orgId: org.id, platform: 'teams', externalId: tenantId });
  const orm = ctx.db.orm;
  const teamsOrgId = (await findOrganisationByWorkspace(orm, 'teams', tenantId))!.id;
  expect(teamsOrgId).toBe(org.id);

  const admin = await addMember(ctx, {
    orgId: org.id,
    displayName: 'Ada Admin',
    email: 'ada@contoso.example',
    identity: { platform: 'slack', externalId: 'UADA', workspaceId: slackTeamId },
    actor: operatorActor,
  });
  const ana = await addMember(ctx, {
    orgId: org.id,
    displayName: 'Ana Lopez',
    email: 'ana.lopez@contoso.example',
    identity: { platform: 'slack', externalId: 'UANA', workspaceId: slackTeamId },
    actor: operatorActor,
  });
  if (!admin.ok || !ana.ok) throw new Error('setup');
  await setRole(ctx, { orgId: org.id, actor: operatorActor, memberId: admin.value.id, role: 'admin' });
  // The grant as the Slack adapter makes it: through the chat core, from Slack.
  const granted = await runCommand(harness.allot.deps, {
    platform: 'slack',
    org,
    actor: { ...admin.value, role: 'admin' },
    command: '/grant-tokens',
    tokens: [
      { kind: 'mention', user: { platform: 'slack', externalId: 'UANA', workspaceId: slackTeamId } },
      { kind: 'word', text: '25k' },
      { kind: 'word', text: 'welcome' },
    ],
    idempotencyKey: `slack:${slackTeamId}:trigger-1`,
    directory: { loadProfile: async () => null },
  });
  expect(granted.ok).toBe(true);

  const anaOnTeams = makePerson('Ana Lopez', tenantId, 'ana.lopez@contoso.example');
  harness.connector.addMember(anaOnTeams);
  const activity = messageActivity({
    serviceUrl: harness.connector.url,
    tenantId,
    from: anaOnTeams,
    conversation: personalConversation(anaOnTeams),
    text: '/balance',
  });
  await harness.post(activity);
  const reply = harness.connector.sentActivities().find((sent) => sent.replyToId === activity.id);
  expect(cardText(reply?.activity)).toContain('25,000');
  const linked = await orm
    .select()
    .from(memberIdentities)
    .where(and(eq(memberIdentities.orgId, org.id), eq(memberIdentities.memberId, ana.value.id)));
  expect(linked.map((identity) => identity.platform).sort()).toEqual(['slack', 'teams']);
  expect((await getBalances(orm, org.id, ana.value.id))?.wallet).toBe(25_000n);
});

it('proactive messages reach a person through a new personal chat when they never wrote to the bot, and can be edited', async () => {
  const tenantId = newTenantId();
  const mia = makePerson('Mia Manager', tenantId);
  const ana = makePerson('Ana Lopez', tenantId);
  harness.connector.addMember(mia);
  harness.connector.addMember(ana);
  // Mia installed the app; Ana is only known because Mia named her in a channel.
  await harness.post(
    installationUpdateActivity({
      serviceUrl: harness.connector.url,
      tenantId,
      from: mia,
      conversation: personalConversation(mia),
      action: 'add',
    }),
  );
  await harness.post(
    messageActivity({
      serviceUrl: harness.connector.url,
      tenantId,
      from: mia,
      conversation: channelConversation(),
      text: 'balance <at>Ana Lopez</at>',
      mentions: [ana],
    }),
  );
  const { deps } = harness.allot;
  const orm = deps.ctx.db.orm;
  const org = (await findOrganisationByWorkspace(orm, 'teams', tenantId))!;
  const anaMember = (await findMemberByIdentity(orm, org.id, 'teams', ana.aadObjectId))!;
  const before = harness.connector.requests.length;

  const sent = await deps.notifier.notifyMember({
    orgId: org.id,
    memberId: anaMember.id,
    message: { summary: 'Hello Ana', blocks: [{ type: 'text', lines: [['Hello Ana']] }] },
  });
  expect(sent.ok).toBe(true);
  const calls = harness.connector.requests.slice(before);
  const created = calls.find((request) => request.method === 'POST' && request.path === '/v3/conversations');
  expect(created?.body).toMatchObject({
    isGroup: false,
    members: [{ id: ana.id }],
    tenantId,
    bot: { id: '28:00000000-0000-0000-0000-00000000b07' },
  });
  if (!sent.ok) throw new Error('unreachable');
  const conversationId = sent.location.ref.conversationId!;
  expect(conversationId).toMatch(/^a:fake-personal-/);
  const delivered = harness.connector.sentActivities().filter((activity) => activity.conversationId === conversationId);
  expect(delivered).toHaveLength(1);
  expect(cardText(delivered[0]!.activity)).toContain('Hello Ana');
  expect(sent.location.ref.activityId).toBe(delivered[0]!.id);
  expect(await conversationRows(org.id)).toContainEqual(
    expect.objectContaining({ conversationId, conversationType: 'personal', memberAadObjectId: ana.aadObjectId }),
  );

  const edited = await deps.notifier.update({
    orgId: org.id,
    location: sent.location,
    message: { summary: 'Edited', blocks: [{ type: 'text', lines: [['Edited for Ana']] }] },
  });
  expect(edited.ok).toBe(true);
  const put = harness.connector
    .updatedActivities()
    .find((update) => update.activityId === sent.location.ref.activityId);
  expect(put?.conversationId).toBe(conversationId);
  expect(cardText(put?.activity)).toContain('Edited for Ana');

  // The next message uses the stored chat rather than creating another one.
  const again = await deps.notifier.notifyMember({
    orgId: org.id,
    memberId: anaMember.id,
    message: { summary: 'Again', blocks: [] },
  });
  expect(again.ok && again.location.ref.conversationId).toBe(conversationId);
  expect(
    harness.connector.requests.slice(before).filter((request) => request.path === '/v3/conversations'),
  ).toHaveLength(1);
});
