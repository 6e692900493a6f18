import { afterAll, beforeAll, expect, it } from 'vitest';
import { dashboardPage, followSignInLink } from '../../support/dashboard-signin';
import { setUpTeamsTeam } from './team';
import {
  cardActionInvoke,
  cardButtons,
  cardText,
  channelConversation,
  personalConversation,
  startTeamsHarness,
  type TeamsHarness,
} from './teams-harness';

// `tokens dashboard` and the help card's "Open dashboard" button in Teams: the sign-in link is shown in
// a personal chat only; asked for in a channel, or by a button, it goes to the person's personal chat.

const adminEmail = 'ada.admin@contoso.example';
const linkPattern = /\[Open the dashboard\]\((https:\/\/allot\.example\.com\/dashboard\/signin\/[A-Za-z0-9_-]{43})\)/;

let harness: TeamsHarness;
beforeAll(async () => {
  harness = await startTeamsHarness({ env: { ALLOT_ADMINS: adminEmail, DASHBOARD_URL: 'https://allot.example.com' } });
});
afterAll(async () => harness?.close());

it('in a personal chat, tokens dashboard answers with a link that signs in as the person', async () => {
  const { ana, say } = await setUpTeamsTeam(harness, adminEmail);
  const { reply } = await say(ana, 'tokens dashboard');
  const link = linkPattern.exec(cardText(reply))?.[1];
  expect(link).toBeDefined();
  const session = await followSignInLink(`http://127.0.0.1:${harness.allot.port}`, link!);
  expect(session.ok).toBe(true);
  if (!session.ok) return;
  const me = await dashboardPage(`http://127.0.0.1:${harness.allot.port}`, session.cookie, '/dashboard/me');
  expect(me.text).toContain('Ana Lopez');
});

it('in a channel the link is not shown: it goes to the personal chat, and the channel is told so', async () => {
  const { ben, say, proactiveTo } = await setUpTeamsTeam(harness, adminEmail);
  const mark = harness.connector.sentActivities().length;
  const { reply } = await say(ben, 'tokens dashboard', { conversation: channelConversation() });
  expect(cardText(reply)).toContain('I sent your sign-in link to the dashboard in a direct message');
  expect(linkPattern.test(cardText(reply))).toBe(false);
  const sent = proactiveTo(ben, mark);
  expect(sent).toHaveLength(1);
  expect(linkPattern.test(cardText(sent[0]!.activity))).toBe(true);
});

it('the help card’s Open dashboard button sends a fresh link to the personal chat', async () => {
  const { tenantId, serviceUrl, mia, say, proactiveTo } = await setUpTeamsTeam(harness, adminEmail);
  const { reply } = await say(mia, 'tokens help');
  const button = cardButtons(reply).find((candidate) => candidate.verb === 'dashboard.link');
  expect(button?.title).toBe('Open dashboard');
  const mark = harness.connector.sentActivities().length;
  const clicked = await harness.post(
    cardActionInvoke({
      serviceUrl,
      tenantId,
      from: mia,
      conversation: personalConversation(mia),
      verb: button!.verb,
      data: button!.data,
      replyToId: 'card-1',
    }),
  );
  expect(clicked.status).toBe(200);
  expect(JSON.stringify(clicked.body)).toContain('I sent you a sign-in link in a direct message');
  const sent = proactiveTo(mia, mark);
  expect(sent).toHaveLength(1);
  expect(linkPattern.test(cardText(sent[0]!.activity))).toBe(true);
});
