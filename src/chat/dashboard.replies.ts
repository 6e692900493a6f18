import { type ChatMessage, context, message, text } from '../notify/message.models';

// The words of `/tokens dashboard` and of the "Open dashboard" button: a one-time sign-in link, shown
// only to the person who asked (README, "The web dashboard").

/** The action id of the "Open dashboard" button (Slack App Home, the help card): it answers with a fresh link. */
export const dashboardLinkActionId = 'dashboard.link';

/** The private message carrying a sign-in link. Its summary (a notification preview) never shows the link. */
export function dashboardLinkMessage(input: { url: string; validMinutes: number }): ChatMessage {
  return message(
    'Your sign-in link for the Allot dashboard',
    text(['Your link to the Allot dashboard: ', { link: { url: input.url, text: 'Open the dashboard' } }]),
    context(
      `It works once and for ${input.validMinutes} minutes, and it signs in as you: do not share it. `,
      'Type /tokens dashboard for a new one.',
    ),
  );
}

/** The reply where a shared conversation would show the link to others: it went by direct message instead. */
export function dashboardLinkSentPrivately(): ChatMessage {
  return message(
    'I sent you a sign-in link in a direct message',
    text(['I sent your sign-in link to the dashboard in a direct message, so that only you see it.']),
  );
}

/** The reply when the link could not be sent privately: it is not shown here either. */
export function dashboardLinkUndelivered(): ChatMessage {
  return message(
    'I could not send you a sign-in link privately',
    text([
      'I could not send you a direct message, and a sign-in link must not be shown where others can see it. ',
      'Type ',
      { code: 'tokens dashboard' },
      ' in your personal chat with me (or ',
      { code: '/tokens dashboard' },
      ' in Slack).',
    ]),
  );
}

/** The "Open dashboard" button (shown where DASHBOARD_URL is set). */
export const openDashboardAction = { id: dashboardLinkActionId, label: 'Open dashboard', value: 'open' } as const;
