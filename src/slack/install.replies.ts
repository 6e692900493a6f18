import type { ChatMessage } from '../notify/message.models';

// The words of installing and removing Allot in Slack workspaces (distribution).

/** Escapes text for an HTML attribute or element. */
function html(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page behind GET /slack/install: what Allot is, and the Add to Slack button (Slack's own image). */
export function installPage(addToSlackUrl: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Install Allot in Slack</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 3em auto; line-height: 1.5">
<h1>Install Allot in your Slack workspace</h1>
<p>Allot lets managers grant AI tokens, people check their balance and ask for more, with every token on a
double-entry ledger. Installing adds the /grant-tokens, /balance, /request-tokens, /leaderboard and /tokens
commands; Slack shows the permissions on the next page.</p>
<p><a href="${html(addToSlackUrl)}"><img alt="Add to Slack" height="40" width="139"
src="https://platform.slack-edge.com/img/add_to_slack.png"
srcset="https://platform.slack-edge.com/img/add_to_slack.png 1x, https://platform.slack-edge.com/img/add_to_slack@2x.png 2x"></a></p>
</body></html>`;
}

/** Install failures @slack/oauth names (its ErrorCode values), and what the person is told for each. */
const installFailures: Record<string, { status: number; sentence: string }> = {
  slack_oauth_invalid_state: {
    status: 400,
    sentence:
      'This installation link has expired, was already used, or was opened in another browser. Nothing was installed.',
  },
  slack_oauth_missing_state: {
    status: 400,
    sentence: 'This address lacks the state Slack sends back, so nothing was installed.',
  },
  slack_oauth_missing_code: {
    status: 400,
    sentence: 'Slack did not send an authorization code, so nothing was installed.',
  },
  slack_oauth_installer_authorization_error: {
    status: 400,
    sentence: 'The installation was cancelled in Slack, so nothing was installed.',
  },
};

/**
 * The page shown when an installation fails (a forged, expired or replayed state, a cancelled or
 * refused authorization): what happened and the one thing to do, start again. Fixed text only.
 */
export function installFailurePage(code: string): { status: number; html: string } {
  const known = installFailures[code] ?? {
    status: 500,
    sentence: 'Slack did not complete the installation (it may be briefly unavailable). Nothing was installed.',
  };
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Allot was not installed</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 3em auto; line-height: 1.5">
<h1>Allot was not installed</h1>
<p>${known.sentence}</p>
<p><a href="/slack/install">Start the installation again</a> and approve it in Slack within 10 minutes.</p>
</body></html>`;
  return { status: known.status, html };
}

/**
 * What the organisation's admins read when Allot was removed from one of its Slack workspaces (the app
 * uninstalled, or its token revoked): nobody there hears from Allot until it is installed again, and
 * nothing of the ledger was lost. Sent wherever each admin can still be reached.
 */
export function workspaceRemovedNotice(input: { workspaceName: string; installPath: string }): ChatMessage {
  const name = input.workspaceName.slice(0, 80);
  return {
    summary: `Allot was removed from the Slack workspace ${name}`,
    blocks: [
      { type: 'header', text: 'Allot was removed from a Slack workspace' },
      {
        type: 'text',
        lines: [
          ['Allot was uninstalled from ', { bold: name }, ', or its access was revoked, and its token is deleted.'],
          [
            'People there get no messages from Allot and their commands go unanswered until someone installs it ',
            'again (',
            { code: input.installPath },
            ' on the Allot server). Balances, budgets and history are kept, and a reinstall picks them up.',
          ],
        ],
      },
    ],
  };
}
