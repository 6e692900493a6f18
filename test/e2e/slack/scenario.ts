import { expect } from 'vitest';
import type { SlackWorkspace } from '../../support/app';
import { textOf } from '../../support/fake-slack';
import { approvalDm, ledgerOf, press, settle, setUpTeam } from './team';

/** The commands the scenario types, in order (it also clicks Approve once and opens the Home tab). */
export interface ScenarioCommand {
  user: string;
  command: string;
  text: string;
  /** What the private answer says. */
  expect: string;
}

const firstHalf: ScenarioCommand[] = [
  { user: 'UMIA', command: '/grant-tokens', text: '<@UANA> 5k shipped it', expect: 'You granted *5,000 tokens*' },
  { user: 'UANA', command: '/balance', text: '', expect: '5,000' },
];

/** Typed at once, after the first half (in Socket Mode: while the connection is being replaced). */
const secondHalf: ScenarioCommand[] = [
  { user: 'UMIA', command: '/grant-tokens', text: '<@UBEN> 2k reviews', expect: 'You granted *2,000 tokens*' },
  { user: 'UANA', command: '/request-tokens', text: '10k eval runs', expect: 'Asked <@UMIA> for *10,000 tokens*' },
  { user: 'UBEN', command: '/tokens', text: 'help', expect: '/leaderboard week' },
];

/** Every command of the scenario with its response path, so a test can check each was answered once. */
export type ScenarioReplies = { command: ScenarioCommand; responsePath: string }[];

/**
 * The command scenario every Slack transport must pass (HTTP, Socket Mode): an admin sets up a team,
 * a manager grants, people check balances, ask for tokens and for help, the manager
 * approves with a click, the Home tab opens. `midway` runs between the two halves (a forced
 * reconnect, in Socket Mode); the second half's commands are typed at once, without waiting. Ends
 * by checking that every command was answered exactly once and that the ledger holds exactly the
 * transfers the scenario made, its invariants intact.
 */
export async function runCommandScenario(
  ws: SlackWorkspace,
  hooks: { midway?: () => Promise<void> | void } = {},
): Promise<ScenarioReplies> {
  const h = ws.harness;
  await setUpTeam(ws, '50k');
  const replies: ScenarioReplies = [];
  for (const command of firstHalf) {
    const { reply, responsePath } = await ws.command(command.user, command.command, command.text);
    expect(textOf(reply)).toContain(command.expect);
    replies.push({ command, responsePath });
  }
  await hooks.midway?.();
  const answered = await Promise.all(
    secondHalf.map(async (command) => ({
      command,
      ...(await ws.command(command.user, command.command, command.text)),
    })),
  );
  for (const { command, reply, responsePath } of answered) {
    expect(textOf(reply)).toContain(command.expect);
    replies.push({ command, responsePath });
  }

  const dm = await approvalDm(ws, 'DMIA');
  const click = await press(ws, 'UMIA', dm, 'approve');
  expect(textOf((await ws.waitForResponse(click.responsePath)).body)).toContain(
    'Approved: <@UANA> received *10,000 tokens*',
  );
  await ws.event({ type: 'app_home_opened', user: 'UANA', channel: 'DANA', tab: 'home' });
  await h.slack.waitFor(() => ws.callsOf('views.publish').find((call) => call.params.user_id === 'UANA'));
  await settle(h);

  for (const { command, responsePath } of replies) {
    expect(h.slack.responsesTo(responsePath), `${command.command} ${command.text}`).toHaveLength(1);
  }
  const ledger = ledgerOf(h, ws);
  expect(await ledger.wallet('UANA')).toBe(15_000n);
  expect(await ledger.wallet('UBEN')).toBe(2_000n);
  expect(await ledger.budget('UMIA')).toBe(33_000n);
  const codes = (await ledger.transfers()).map((transfer) => transfer.code).sort();
  expect(codes).toEqual(['grant', 'grant', 'issue', 'topup']);
  expect(await ledger.audit()).toEqual([]);
  return replies;
}
