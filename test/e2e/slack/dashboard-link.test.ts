import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SlackHarness, SlackWorkspace, startSlackHarness } from '../../support/app';
import { dashboardPage, followSignInLink } from '../../support/dashboard-signin';
import { textOf } from '../../support/fake-slack';
import { settle } from './team';

// `/tokens dashboard` and the App Home's "Open dashboard" button in Slack: a private one-time link to the
// web dashboard that signs in as the person who asked, or, without DASHBOARD_URL, what to set.

const dashboardUrl = 'https://allot.example.com';
const linkPattern = /<(https:\/\/allot\.example\.com\/dashboard\/signin\/[A-Za-z0-9_-]{43})\|Open the dashboard>/;

let on: SlackHarness;
let off: SlackHarness;
beforeAll(async () => {
  [on, off] = await Promise.all([startSlackHarness({ DASHBOARD_URL: dashboardUrl }), startSlackHarness()]);
});
afterAll(async () => {
  await Promise.all([on?.stop(), off?.stop()]);
});

// biome-ignore lint/suspicious/noExplicitAny: Block Kit JSON.
const buttonsOf = (blocks: any[] = []): any[] => blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements);

describe('/tokens dashboard in Slack', () => {
  it('answers privately with a one-time link that signs in as the person who typed it', async () => {
    const ws = new SlackWorkspace(on);
    ws.user('UANA', { name: 'Ana Lima' });
    const { reply } = await ws.command('UANA', '/tokens', 'dashboard');
    expect(reply.response_type).toBe('ephemeral');
    const text = textOf(reply);
    expect(text).toContain('works once and for 10 minutes');
    const link = linkPattern.exec(text)?.[1];
    expect(link).toBeDefined();
    const session = await followSignInLink(on.baseUrl, link!);
    expect(session.ok).toBe(true);
    if (!session.ok) return;
    const me = await dashboardPage(on.baseUrl, session.cookie, '/dashboard/me');
    expect(me.status).toBe(200);
    expect(me.text).toContain('Ana Lima');
    expect(await followSignInLink(on.baseUrl, link!)).toEqual({ ok: false, status: 410 });
  });

  it('without DASHBOARD_URL says the dashboard is off and what to set, and the Home tab has no button', async () => {
    const ws = new SlackWorkspace(off);
    ws.user('UANA', { name: 'Ana' });
    const text = textOf((await ws.command('UANA', '/tokens', 'dashboard')).reply);
    expect(text).toContain('The web dashboard is off');
    expect(text).toContain('`DASHBOARD_URL`');
    await ws.event({ type: 'app_home_opened', user: 'UANA', channel: 'DANA', tab: 'home' });
    const home = await off.slack.waitFor(() => ws.callsOf('views.publish')[0], 10_000, 'home');
    expect(buttonsOf(home.params.view.blocks).map((b) => b.action_id)).not.toContain('dashboard.link');
    const page = await fetch(`${off.baseUrl}/dashboard/me`);
    expect(page.status).toBe(404);
    expect(await page.text()).toContain('The dashboard is off. Set DASHBOARD_URL');
  });

  it('words after it are refused with the command to type', async () => {
    const ws = new SlackWorkspace(on);
    ws.user('UANA', { name: 'Ana' });
    expect(textOf((await ws.command('UANA', '/tokens', 'dashboard please')).reply)).toContain('/tokens dashboard');
  });
});

describe('the Open dashboard button', () => {
  it('on the Home tab answers with a fresh link in a direct message', async () => {
    const ws = new SlackWorkspace(on);
    ws.user('UBEN', { name: 'Ben' });
    await ws.event({ type: 'app_home_opened', user: 'UBEN', channel: 'DBEN', tab: 'home' });
    const home = await on.slack.waitFor(() => ws.callsOf('views.publish')[0], 10_000, 'home');
    const button = buttonsOf(home.params.view.blocks).find((b) => b.action_id === 'dashboard.link');
    expect(button?.text.text).toBe('Open dashboard');
    const click = await ws.click({ user: 'UBEN', actionId: 'dashboard.link', value: button.value, fromHome: true });
    expect(click.status).toBe(200);
    const dm = await on.slack.waitFor(
      () => ws.callsOf('chat.postMessage').find((call) => call.params.channel === 'UBEN'),
      10_000,
      'the link by direct message',
    );
    const link = linkPattern.exec(textOf(dm.params))?.[1];
    expect(link).toBeDefined();
    // The notification preview (the message's text) never shows the link.
    expect(dm.params.text).toBe('Your sign-in link for the Allot dashboard');
    const session = await followSignInLink(on.baseUrl, link!);
    expect(session.ok && (await dashboardPage(on.baseUrl, session.cookie, '/dashboard/me')).text).toContain('Ben');
  });

  it('is under /tokens help, and a click there answers privately through response_url', async () => {
    const ws = new SlackWorkspace(on);
    ws.user('UANA', { name: 'Ana' });
    const { reply } = await ws.command('UANA', '/tokens', 'help');
    const button = buttonsOf(reply.blocks).find((b) => b.action_id === 'dashboard.link');
    expect(button).toBeDefined();
    const click = await ws.click({
      user: 'UANA',
      actionId: 'dashboard.link',
      value: button.value,
      channel: 'C0GENERAL',
    });
    const answer = await ws.waitForResponse(click.responsePath);
    expect(answer.body.response_type).toBe('ephemeral');
    expect(linkPattern.test(textOf(answer.body))).toBe(true);
    await settle(on);
  });
});
