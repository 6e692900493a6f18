import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { inboundDeliveries } from '../../../src/chat/chat.tables';
import { organisations } from '../../../src/members/members.tables';
import { teamsConversations } from '../../../src/teams/teams.tables';
import {
  cardActionInvoke,
  makePerson,
  messageActivity,
  personalConversation,
  startTeamsHarness,
  type TeamsHarness,
} from './teams-harness';

const tenantId = 'f1e2d3c4-0000-4000-8000-00000000a11c';
// One unauthenticated server (no app id, TEAMS_ALLOW_UNAUTHENTICATED, posts over loopback) for most tests;
// the 401 test starts its own with an app id.
let shared: TeamsHarness;
beforeAll(async () => {
  shared = await startTeamsHarness();
});
afterAll(async () => shared?.close());
let harness: TeamsHarness | undefined;
afterEach(async () => {
  if (harness && harness !== shared) await harness.close();
  harness = undefined;
});

it('without an app id but with TEAMS_ALLOW_UNAUTHENTICATED, a Teams message from this machine is accepted and answered with a card over the connector', async () => {
  const ana = makePerson('Ana Lopez', tenantId);
  harness = shared;
  harness.connector.addMember(ana);
  const conversation = personalConversation(ana);
  const activity = messageActivity({
    serviceUrl: harness.connector.url,
    tenantId,
    from: ana,
    conversation,
    text: 'balance',
  });
  const response = await harness.post(activity);
  expect(response.status).toBe(200);
  const sent = harness.connector.sentActivities().filter((item) => item.conversationId === conversation.id);
  expect(sent).toHaveLength(1);
  expect(sent[0]!.conversationId).toBe(conversation.id);
  expect(sent[0]!.replyToId).toBe(activity.id);
  const attachment = (sent[0]!.activity.attachments as { contentType: string; content: { version: string } }[])[0]!;
  expect(attachment.contentType).toBe('application/vnd.microsoft.card.adaptive');
  expect(attachment.content.version).toBe('1.5');
  // Outbound calls carry no Authorization header when authentication is off.
  expect(harness.connector.requests.length).toBeGreaterThan(0);
  expect(harness.connector.requests.every((request) => request.authorization === undefined)).toBe(true);
});

it('with an app id set, a request without a token gets 401 and nothing is written or sent', async () => {
  const ana = makePerson('Ana Lopez', tenantId);
  harness = await startTeamsHarness({
    members: [ana],
    env: {
      MICROSOFT_APP_ID: '3f0c6f4e-2a52-4c59-9d0b-5b3a4e2f7a10',
      MICROSOFT_APP_PASSWORD: 'not-a-real-secret',
      MICROSOFT_APP_TENANT_ID: tenantId,
      MICROSOFT_APP_TYPE: 'SingleTenant',
    },
  });
  const conversation = personalConversation(ana);
  const message = messageActivity({
    serviceUrl: harness.connector.url,
    tenantId,
    from: ana,
    conversation,
    text: 'balance',
  });
  expect((await harness.post(message)).status).toBe(401);
  const forged = await harness.post(message, { authorization: 'Bearer not.a.token' });
  expect(forged.status).toBe(401);
  const invoke = cardActionInvoke({
    serviceUrl: harness.connector.url,
    tenantId,
    from: ana,
    conversation,
    verb: 'request.approve',
    data: { allot: { action: 'request.approve', value: '1' } },
    replyToId: 'card-1',
  });
  expect((await harness.post(invoke)).status).toBe(401);
  const orm = harness.allot.deps.ctx.db.orm;
  expect(await orm.select().from(organisations)).toEqual([]);
  expect(await orm.select().from(teamsConversations)).toEqual([]);
  expect(await orm.select().from(inboundDeliveries)).toEqual([]);
  expect(harness.connector.requests).toEqual([]);
});

it('an invoke Allot has no handler for is answered 501; a click on an unknown request gets a message, not an error', async () => {
  const ana = makePerson('Ana Lopez', tenantId);
  harness = shared;
  harness.connector.addMember(ana);
  const conversation = personalConversation(ana);
  const unknown = {
    ...cardActionInvoke({
      serviceUrl: harness.connector.url,
      tenantId,
      from: ana,
      conversation,
      verb: 'x',
      data: {},
      replyToId: 'card-0',
    }),
    name: 'composeExtension/query',
  };
  expect((await harness.post(unknown)).status).toBe(501);

  const invoke = cardActionInvoke({
    serviceUrl: harness.connector.url,
    tenantId,
    from: ana,
    conversation,
    verb: 'request.approve',
    data: { allot: { action: 'request.approve', value: '17' } },
    replyToId: 'card-activity-1',
  });
  const putsBefore = harness.connector.updatedActivities().length;
  const answered = await harness.post(invoke);
  expect(answered.status).toBe(200);
  expect(answered.body).toEqual({
    statusCode: 200,
    type: 'application/vnd.microsoft.activity.message',
    value: "I can't find that request any more.",
  });
  const foreign = await harness.post({
    ...invoke,
    id: `${invoke.id}-foreign`,
    value: { action: { type: 'Action.Execute', verb: 'other', data: { something: 'else' } }, trigger: 'manual' },
  });
  expect(foreign.body).toMatchObject({ statusCode: 400, type: 'application/vnd.microsoft.error' });
  expect(harness.connector.updatedActivities().slice(putsBefore)).toEqual([]);
});

it('a body that is not JSON is refused with 400 and the process keeps serving', async () => {
  harness = shared;
  const response = await fetch(`http://127.0.0.1:${harness.allot.port}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{not json',
  });
  expect(response.status).toBe(400);
  const health = await fetch(`http://127.0.0.1:${harness.allot.port}/healthz`);
  expect(health.status).toBe(200);
  const notAnObject = await harness.post([] as unknown as Record<string, unknown>);
  expect(notAnObject.status).toBe(400);
  const noType = await harness.post({ channelId: 'msteams', serviceUrl: harness.connector.url });
  expect(noType.status).toBe(400);
});
