import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../../src/config/config';
import { createTestClock, type TestClock } from '../../../src/lib/clock';
import { type RunningAllot, startAllot } from '../../../src/main';
import { createTestDatabase, type TestDatabase } from '../../support/db';
import { type FakeConnector, type FakeTeamsMember, startFakeConnector } from '../../support/fake-connector';

// Starts Allot as `npm start` does (startAllot) beside a fake Bot Framework connector, and builds
// activities shaped exactly like the ones Teams posts to /api/messages.

export const botAccount = { id: '28:00000000-0000-0000-0000-00000000b07', name: 'Allot' };

export interface TeamsHarness {
  allot: RunningAllot;
  connector: FakeConnector;
  /** The clock Allot reads (a test clock starting at the real time), for tests of what falls due later. */
  clock: TestClock;
  tenantId: string;
  post(activity: Record<string, unknown>, headers?: Record<string, string>): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

export function makePerson(name: string, tenantId: string, email?: string): FakeTeamsMember {
  const aadObjectId = randomUUID();
  return {
    id: `29:1${randomBytes(12).toString('hex')}`,
    name,
    aadObjectId,
    email: email ?? `${name.toLowerCase().replace(/\s+/g, '.')}@contoso.example`,
    userPrincipalName: email ?? `${name.toLowerCase().replace(/\s+/g, '.')}@contoso.example`,
    tenantId,
    userRole: 'user',
  };
}

export async function startTeamsHarness(
  options: {
    env?: Record<string, string>;
    members?: FakeTeamsMember[];
    /** The address `post` sends to (default 127.0.0.1); the server must listen there (HOST). */
    address?: string;
  } = {},
): Promise<TeamsHarness> {
  const connector = await startFakeConnector({ members: options.members });
  let tdb: TestDatabase | undefined;
  let dataDir: string | undefined;
  if (process.env.DATABASE_URL) tdb = await createTestDatabase();
  else dataDir = await mkdtemp(path.join(tmpdir(), 'allot-teams-'));
  const parsed = parseConfig({
    DATABASE_URL: tdb?.url,
    DATA_DIR: dataDir,
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // The tests post unauthenticated activities from this machine, as the Agents Playground does: that
    // takes the explicit opt-in (a test about the default passes 'false').
    TEAMS_ALLOW_UNAUTHENTICATED: 'true',
    ...options.env,
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const clock = createTestClock(new Date());
  const allot = await startAllot({ config: parsed.config, clock });
  const address = options.address ?? '127.0.0.1';
  const base = `http://${address.includes(':') ? `[${address}]` : address}:${allot.port}`;
  return {
    allot,
    connector,
    clock,
    tenantId: (options.members?.[0]?.tenantId as string | undefined) ?? 'tenant-unset',
    async post(activity, headers = {}) {
      const response = await fetch(`${base}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(activity),
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // Not JSON: keep the text.
      }
      return { status: response.status, body };
    },
    async close() {
      await allot.stop();
      await connector.close();
      if (tdb) await tdb.close();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

let activitySequence = 0;
export function nextActivityId(): string {
  activitySequence += 1;
  return `${Date.now()}${String(activitySequence).padStart(4, '0')}`;
}

interface ConversationShape {
  id: string;
  conversationType: 'personal' | 'groupChat' | 'channel';
  teamId?: string;
  channelId?: string;
}

export function personalConversation(person: FakeTeamsMember): ConversationShape {
  return { id: `a:1${person.id.slice(4, 20)}personal`, conversationType: 'personal' };
}

export function groupChatConversation(): ConversationShape {
  return { id: `19:${nextActivityId()}group@thread.v2`, conversationType: 'groupChat' };
}

export function channelConversation(teamId = '19:team-general@thread.tacv2'): ConversationShape {
  return {
    id: `${teamId};messageid=${nextActivityId()}`,
    conversationType: 'channel',
    teamId,
    channelId: teamId,
  };
}

function envelope(input: {
  serviceUrl: string;
  tenantId: string;
  from: FakeTeamsMember;
  conversation: ConversationShape;
  id?: string;
}) {
  const { conversation } = input;
  return {
    channelId: 'msteams',
    serviceUrl: input.serviceUrl,
    id: input.id ?? nextActivityId(),
    timestamp: new Date().toISOString(),
    from: { id: input.from.id, name: input.from.name, aadObjectId: input.from.aadObjectId },
    recipient: botAccount,
    conversation: {
      id: conversation.id,
      conversationType: conversation.conversationType,
      tenantId: input.tenantId,
      isGroup: conversation.conversationType !== 'personal',
    },
    channelData: {
      tenant: { id: input.tenantId },
      ...(conversation.teamId
        ? {
            team: { id: conversation.teamId, name: 'Platform', aadGroupId: randomUUID() },
            channel: { id: conversation.channelId, name: 'General' },
          }
        : {}),
    },
    locale: 'en-US',
  };
}

/**
 * A message as Teams sends it. In group chats and channels the bot's own `<at>` mention comes first;
 * `mentions` adds entities for other people whose `<at>Name</at>` appears in `text`. `entities`
 * replaces those with mention entities exactly as given (the odd shapes Teams sends: no `text`, one
 * name split over several entities).
 */
export function messageActivity(input: {
  serviceUrl: string;
  tenantId: string;
  from: FakeTeamsMember;
  conversation: ConversationShape;
  text: string;
  mentions?: FakeTeamsMember[];
  entities?: Record<string, unknown>[];
  /** How the bot's own mention is sent in group chats and channels (default `<at>Allot</at>` and its entity). */
  botMention?: { text: string; entities: Record<string, unknown>[] };
  id?: string;
  value?: unknown;
  replyToId?: string;
}) {
  const mentionBot = input.conversation.conversationType !== 'personal';
  const botMention = input.botMention ?? {
    text: `<at>${botAccount.name}</at>`,
    entities: [{ type: 'mention', text: `<at>${botAccount.name}</at>`, mentioned: botAccount }],
  };
  const text = mentionBot ? `${botMention.text} ${input.text}` : input.text;
  const entities: Record<string, unknown>[] = [];
  if (mentionBot) entities.push(...botMention.entities);
  if (input.entities) entities.push(...input.entities);
  for (const person of input.entities ? [] : (input.mentions ?? [])) {
    entities.push({
      type: 'mention',
      text: `<at>${person.name}</at>`,
      mentioned: { id: person.id, name: person.name },
    });
  }
  entities.push({ type: 'clientInfo', locale: 'en-US', country: 'US', platform: 'Web', timezone: 'Europe/Berlin' });
  return {
    ...envelope(input),
    type: 'message',
    text,
    textFormat: 'plain',
    entities,
    ...(input.value !== undefined ? { value: input.value } : {}),
    ...(input.replyToId ? { replyToId: input.replyToId } : {}),
  };
}

export function installationUpdateActivity(input: {
  serviceUrl: string;
  tenantId: string;
  from: FakeTeamsMember;
  conversation: ConversationShape;
  action: 'add' | 'remove';
}) {
  return { ...envelope(input), type: 'installationUpdate', action: input.action };
}

export function conversationUpdateActivity(input: {
  serviceUrl: string;
  tenantId: string;
  from: FakeTeamsMember;
  conversation: ConversationShape;
  botAdded?: boolean;
  botRemoved?: boolean;
}) {
  const base = envelope(input);
  return {
    ...base,
    type: 'conversationUpdate',
    ...(input.botAdded ? { membersAdded: [{ id: botAccount.id }] } : {}),
    ...(input.botRemoved ? { membersRemoved: [{ id: botAccount.id }] } : {}),
    channelData: { ...base.channelData, eventType: input.botRemoved ? 'teamMemberRemoved' : 'teamMemberAdded' },
  };
}

export function cardActionInvoke(input: {
  serviceUrl: string;
  tenantId: string;
  from: FakeTeamsMember;
  conversation: ConversationShape;
  verb: string;
  data: unknown;
  replyToId: string;
  id?: string;
}) {
  return {
    ...envelope(input),
    type: 'invoke',
    name: 'adaptiveCard/action',
    replyToId: input.replyToId,
    value: { action: { type: 'Action.Execute', id: 'button', verb: input.verb, data: input.data }, trigger: 'manual' },
  };
}

/** The visible text of the Adaptive Card(s) in an activity the bot sent, with Markdown escapes removed. */
export function cardText(activity: Record<string, unknown> | undefined): string {
  const attachments = (activity?.attachments ?? []) as { content?: { body?: Record<string, unknown>[] } }[];
  const parts: string[] = [];
  const visit = (element: Record<string, unknown>) => {
    if (typeof element.text === 'string') parts.push(element.text);
    if (Array.isArray(element.facts)) for (const fact of element.facts) parts.push(`${fact.title}: ${fact.value}`);
    if (Array.isArray(element.actions))
      for (const action of element.actions as Record<string, unknown>[]) parts.push(`[${action.title}]`);
  };
  for (const attachment of attachments) for (const element of attachment.content?.body ?? []) visit(element);
  if (typeof activity?.text === 'string') parts.push(activity.text);
  return (
    parts
      .join('\n')
      // Real mentions (which the card carries as entities) read as the name; escaped user text is literal.
      .replace(/(?<!\\)<at>(.*?)(?<!\\)<\/at>/g, '$1')
      .replace(/\\(.)/g, '$1')
      .replace(/\*\*/g, '')
  );
}

/** The Action.Execute buttons of the card in an activity. */
export function cardButtons(activity: Record<string, unknown> | undefined) {
  const attachments = (activity?.attachments ?? []) as { content?: { body?: Record<string, unknown>[] } }[];
  const buttons: { title: string; verb: string; data: unknown; fallback: Record<string, unknown> }[] = [];
  for (const attachment of attachments)
    for (const element of attachment.content?.body ?? [])
      if (element.type === 'ActionSet') buttons.push(...(element.actions as typeof buttons));
  return buttons;
}

export function newTenantId(): string {
  return randomUUID();
}
