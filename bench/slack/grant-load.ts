// The Slack load of `npm run bench:slack`, shared with `npm run bench:memory`: a manager grants tokens
// with signed /grant-tokens commands at a steady rate (open loop: each is sent on schedule whether or not
// earlier ones were answered), while GET /healthz is timed at the same rate as a reference.

import { postSigned, SlackWorkspace } from '../../test/support/app';
import type { FakeSlack } from '../../test/support/fake-slack';

export const grantLoadTeamId = 'TBENCH';
export const grantLoadMemoPrefix = 'bench ';
const recipientsCount = 20;

export interface GrantLoadResult {
  /** HTTP acknowledgement of each /grant-tokens, in ms. */
  acks: number[];
  /** GET /healthz at the same rate, in ms (the reference). */
  health: number[];
  /** From sending each command to its reply reaching response_url, in ms (replies that came). */
  replies: number[];
  /** HTTP statuses of the acknowledgements, and "failed" for requests that got no answer. */
  statuses: Map<number | 'failed', number>;
  /** Commands sent. */
  total: number;
  elapsedS: number;
}

/**
 * Sets up the workspace the load runs in, on a server whose Slack Web API is `slack`: an admin, a
 * manager with a budget of 1e9 tokens, and 20 people who have each been granted once already (so the
 * run measures grants, not first-time users.info lookups).
 */
export async function prepareGrantLoad(harness: { slack: FakeSlack; baseUrl: string }): Promise<SlackWorkspace> {
  // biome-ignore lint/suspicious/noExplicitAny: the harness shape is all the workspace driver reads.
  const ws = new SlackWorkspace(harness as any, { teamId: grantLoadTeamId });
  ws.user('UADMIN', { is_admin: true });
  ws.user('UMIA');
  for (const id of recipients()) ws.user(id);
  await ws.command('UADMIN', '/tokens', 'role <@UMIA> manager');
  await ws.command('UADMIN', '/tokens', 'budget <@UMIA> 1000000000');
  for (const id of recipients()) await ws.command('UMIA', '/grant-tokens', `<@${id}> 1 warm-up`);
  return ws;
}

const recipients = () => Array.from({ length: recipientsCount }, (_, i) => `UR${i}`);

/** Sends `rate` grants per second for `seconds`, and waits for every acknowledgement and reply. */
export async function runGrantLoad(input: {
  ws: SlackWorkspace;
  slack: FakeSlack;
  baseUrl: string;
  rate: number;
  seconds: number;
  /** How long each reply may take before it counts as missing (default: a minute). */
  replyTimeoutMs?: number;
}): Promise<GrantLoadResult> {
  const { ws, slack, baseUrl, rate, seconds, replyTimeoutMs = 60_000 } = input;
  const people = recipients();
  const total = Math.round(rate * seconds);
  const intervalMs = 1_000 / rate;
  const result: GrantLoadResult = { acks: [], health: [], replies: [], statuses: new Map(), total, elapsedS: 0 };
  const started = performance.now();
  const sends: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const recipient = people[i % people.length]!;
    const { body, responsePath } = ws.commandBody({
      user: 'UMIA',
      command: '/grant-tokens',
      text: `<@${recipient}> 10 ${grantLoadMemoPrefix}${i}`,
    });
    const sentAt = Date.now();
    // A reply that does not come in time is counted as missing, not thrown.
    const reply = slack.nextResponse(responsePath, replyTimeoutMs).catch(() => undefined);
    // A request that fails (a connection timeout when the server falls behind) is counted, not thrown:
    // the run reports it under the status "failed" and goes on.
    const failed = () => result.statuses.set('failed', (result.statuses.get('failed') ?? 0) + 1);
    sends.push(
      postSigned(baseUrl, body, 'application/x-www-form-urlencoded').then(
        async (ack) => {
          result.acks.push(ack.elapsedMs);
          result.statuses.set(ack.status, (result.statuses.get(ack.status) ?? 0) + 1);
          const answered = await reply;
          if (answered) result.replies.push(answered.at - sentAt);
        },
        () => {
          failed();
        },
      ),
    );
    const healthStart = performance.now();
    sends.push(
      fetch(`${baseUrl}/healthz`).then(
        async (response) => {
          await response.text();
          result.health.push(performance.now() - healthStart);
        },
        () => {
          failed();
        },
      ),
    );
  }
  await Promise.all(sends);
  result.elapsedS = (performance.now() - started) / 1000;
  return result;
}
