import { createHmac, randomBytes } from 'node:crypto';
import { parseConfig } from '../../src/config/config';
import { createTestClock, type TestClock } from '../../src/lib/clock';
import { type RunningAllot, startAllot } from '../../src/main';
import { freshAllotDatabase } from './db';
import { FakeSlack, type ResponsePost } from './fake-slack';
import { type Envelope, FakeSocketMode } from './fake-socket-mode';

export const signingSecret = 'test-signing-secret-8f742231b10e8888';

export interface SlackHarness {
  allot: RunningAllot;
  slack: FakeSlack;
  clock: TestClock;
  baseUrl: string;
  /**
   * How a workspace's requests reach Allot: signed HTTP posts to /slack/events unless set (Socket Mode
   * harnesses send them as envelopes over the fake Socket Mode connection instead).
   */
  deliver?: (body: string, contentType: string, headers?: Record<string, string>) => Promise<PostResult>;
  /** Slack's side of the Socket Mode connection, when the harness runs in Socket Mode. */
  socket?: FakeSocketMode;
  stop(): Promise<void>;
}

/**
 * Starts Allot as `npm start` does (startAllot with a parsed environment: migrations, modules, one
 * HTTP server), with Slack's Web API pointed at a local fake. On Postgres each harness gets its own
 * database cloned from the migrated template; on PGlite a scratch data folder.
 */
export async function startSlackHarness(
  env: Record<string, string> = {},
  options: { socketMode?: boolean } = {},
): Promise<SlackHarness> {
  const slack = new FakeSlack();
  await slack.start();
  const socket = options.socketMode ? new FakeSocketMode(slack) : undefined;
  await socket?.start();
  const database = await freshAllotDatabase();
  const parsed = parseConfig({
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SLACK_SIGNING_SECRET: signingSecret,
    SLACK_BOT_TOKEN: 'xoxb-test-token',
    SLACK_API_URL: slack.apiUrl,
    ...database.env,
    ...env,
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const clock = createTestClock(new Date());
  const allot = await startAllot({ config: parsed.config, clock });
  return {
    allot,
    slack,
    clock,
    baseUrl: `http://127.0.0.1:${allot.port}`,
    socket,
    deliver: socket ? (body, contentType) => deliverOverSocket(socket, body, contentType) : undefined,
    async stop() {
      await allot.stop();
      await socket?.stop();
      await slack.stop();
      await database.remove();
    },
  };
}

/**
 * A request as Slack sends it in Socket Mode: the same payload as over HTTP, in an envelope of its
 * kind (a slash command's form fields, an interaction's `payload` JSON, an Events API body), answered
 * by an acknowledgement instead of an HTTP status. 200 once acknowledged.
 */
async function deliverOverSocket(socket: FakeSocketMode, body: string, contentType: string): Promise<PostResult> {
  const started = performance.now();
  let type: Envelope['type'];
  let payload: Envelope['payload'];
  if (contentType.includes('json')) {
    type = 'events_api';
    payload = JSON.parse(body);
  } else {
    const form = new URLSearchParams(body);
    const interaction = form.get('payload');
    type = interaction ? 'interactive' : 'slash_commands';
    payload = interaction ? JSON.parse(interaction) : Object.fromEntries(form);
  }
  const ack = await socket.deliver(type, payload);
  return { status: 200, text: JSON.stringify(ack.payload ?? {}), elapsedMs: performance.now() - started };
}

/** The v0 signature exactly as Slack computes it: hex HMAC-SHA256 over `v0:<timestamp>:<raw body>`. */
export function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface PostResult {
  status: number;
  text: string;
  elapsedMs: number;
}

export async function postSigned(
  baseUrl: string,
  body: string,
  contentType: string,
  options: { timestamp?: number; secret?: string; headers?: Record<string, string>; signature?: string } = {},
): Promise<PostResult> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const started = performance.now();
  const response = await fetch(`${baseUrl}/slack/events`, {
    method: 'POST',
    headers: {
      'content-type': contentType,
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': options.signature ?? slackSignature(options.secret ?? signingSecret, timestamp, body),
      ...options.headers,
    },
    body,
  });
  const text = await response.text();
  return { status: response.status, text, elapsedMs: performance.now() - started };
}

export const newTriggerId = () => `${Date.now()}.${randomBytes(4).readUInt32BE()}.${randomBytes(8).toString('hex')}`;

/** A Slack workspace seen through the harness: sends commands, clicks and events as Slack does. */
export class SlackWorkspace {
  readonly teamId: string;
  /**
   * Several workspaces share one fake Slack, so the user ids a test writes ("UMIA") get a suffix
   * unique to this workspace on the way out and lose it on the way back: tests read as if alone.
   */
  readonly suffix: string = `Q${randomBytes(3).toString('hex').toUpperCase()}Q`;

  /** E…: the Enterprise Grid organisation this workspace belongs to, if any. */
  readonly enterpriseId: string | undefined;
  /** True when Allot is installed org-wide for the enterprise (payloads say is_enterprise_install). */
  readonly orgInstall: boolean;

  constructor(
    readonly harness: SlackHarness,
    options: {
      teamId?: string;
      fixedIds?: string[];
      enterpriseId?: string;
      orgInstall?: boolean;
      suffix?: string;
    } = {},
  ) {
    this.teamId = options.teamId ?? `T${randomBytes(5).toString('hex').toUpperCase()}`;
    this.fixedIds = new Set(options.fixedIds ?? []);
    this.enterpriseId = options.enterpriseId;
    this.orgInstall = Boolean(options.orgInstall);
    // Workspaces of one Grid enterprise share their people (W… ids), so they may share a suffix.
    if (options.suffix) this.suffix = options.suffix;
  }

  /** Posts a request as Slack does: signed HTTP, or the harness's own transport (Socket Mode). */
  send(body: string, contentType: string, headers?: Record<string, string>): Promise<PostResult> {
    return this.harness.deliver
      ? this.harness.deliver(body, contentType, headers)
      : postSigned(this.harness.baseUrl, body, contentType, { headers });
  }

  /** Ids kept as written (e.g. ones named in ALLOT_ADMINS), with their DM channels. */
  private readonly fixedIds: Set<string>;

  /** UMIA → UMIAQ1A2B3Q (also DMIA, the DM channel the fake opens with UMIA). */
  id(id: string): string {
    if (this.fixedIds.has(id) || this.fixedIds.has(`U${id.slice(1)}`)) return id;
    return /^[UWD][A-Z0-9]*$/.test(id) && !id.endsWith(this.suffix) ? `${id}${this.suffix}` : id;
  }

  text(text: string): string {
    return text.replace(/<@([UW][A-Z0-9]+)/g, (_match, id: string) => `<@${this.id(id)}`);
  }

  /** Removes this workspace's suffix from anything the bot sent. */
  unmap<T>(value: T): T {
    return JSON.parse(JSON.stringify(value).split(this.suffix).join('')) as T;
  }

  /** Web API calls about this workspace's people, with ids as the test wrote them. */
  callsOf(method: string) {
    return this.harness.slack
      .callsOf(method)
      .filter((call) => JSON.stringify(call.params).includes(this.suffix))
      .map((call) => this.unmap(call));
  }

  user(id: string, options: Omit<Parameters<FakeSlack['addUser']>[0], 'id'> = {}) {
    return this.harness.slack.addUser({
      id: this.id(id),
      name: id,
      email: `${id.toLowerCase()}@${this.teamId.toLowerCase()}.example`,
      ...options,
    });
  }

  /** The form body of a slash command, with a response_url on the fake. */
  commandBody(input: { user: string; command: string; text: string; triggerId?: string }) {
    const responsePath = `/response/${randomBytes(6).toString('hex')}`;
    const triggerId = input.triggerId ?? newTriggerId();
    const body = new URLSearchParams({
      token: 'deprecated-verification-token',
      team_id: this.teamId,
      team_domain: 'acme',
      channel_id: 'C0GENERAL',
      channel_name: 'general',
      user_id: this.id(input.user),
      user_name: input.user.toLowerCase(),
      command: input.command,
      text: this.text(input.text),
      api_app_id: 'A0ALLOT',
      ...(this.enterpriseId ? { enterprise_id: this.enterpriseId, enterprise_name: 'Grid' } : {}),
      is_enterprise_install: String(this.orgInstall),
      response_url: `${this.harness.slack.url}${responsePath}`,
      trigger_id: triggerId,
    }).toString();
    return { body, responsePath, triggerId };
  }

  /** Sends a slash command and waits for the reply posted to its response_url. */
  async command(user: string, command: string, text: string, options: { triggerId?: string } = {}) {
    const { body, responsePath, triggerId } = this.commandBody({ user, command, text, triggerId: options.triggerId });
    const ack = await this.send(body, 'application/x-www-form-urlencoded');
    if (ack.status !== 200) throw new Error(`command not acknowledged: ${ack.status} ${ack.text}`);
    const reply = await this.harness.slack.waitFor(
      () => this.harness.slack.responsesTo(responsePath)[0],
      15_000,
      `reply to ${command}`,
    );
    return { ack, reply: this.unmap(reply.body), triggerId, responsePath };
  }

  /** A block_actions payload for a click on a button of a message (or of the Home tab). */
  actionPayload(input: {
    user: string;
    actionId: string;
    value: string;
    channel?: string;
    messageTs?: string;
    fromHome?: boolean;
    responsePath?: string;
  }) {
    const responsePath = input.responsePath ?? `/response/${randomBytes(6).toString('hex')}`;
    const container = input.fromHome
      ? { type: 'view', view_id: 'VHOME' }
      : {
          type: 'message',
          message_ts: input.messageTs ?? '1.0',
          channel_id: this.id(input.channel ?? 'D0'),
          is_ephemeral: false,
        };
    const payload = {
      type: 'block_actions',
      user: { id: this.id(input.user), username: input.user.toLowerCase(), team_id: this.teamId },
      api_app_id: 'A0ALLOT',
      token: 'deprecated-verification-token',
      container,
      trigger_id: newTriggerId(),
      team: { id: this.teamId, domain: 'acme' },
      enterprise: this.enterpriseId ? { id: this.enterpriseId, name: 'Grid' } : null,
      is_enterprise_install: this.orgInstall,
      ...(input.fromHome
        ? { view: { id: 'VHOME', type: 'home' } }
        : { channel: { id: this.id(input.channel ?? 'D0'), name: 'directmessage' } }),
      ...(input.fromHome ? {} : { response_url: `${this.harness.slack.url}${responsePath}` }),
      actions: [
        {
          action_id: input.actionId,
          block_id: 'b2',
          type: 'button',
          value: input.value,
          text: { type: 'plain_text', text: input.actionId },
          action_ts: `${Date.now() / 1000}`,
        },
      ],
    };
    return { body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), responsePath };
  }

  async click(
    input: Parameters<SlackWorkspace['actionPayload']>[0],
  ): Promise<{ status: number; responsePath: string; elapsedMs: number }> {
    const { body, responsePath } = this.actionPayload(input);
    const ack = await this.send(body, 'application/x-www-form-urlencoded');
    return { status: ack.status, responsePath, elapsedMs: ack.elapsedMs };
  }

  async waitForResponse(responsePath: string): Promise<ResponsePost> {
    const post = await this.harness.slack.waitFor(
      () => this.harness.slack.responsesTo(responsePath)[0],
      15_000,
      `response to ${responsePath}`,
    );
    return this.unmap(post);
  }

  /** Private metadata read back from a recorded views.open carries ids as the test wrote them. */
  private remapMetadata(metadata: string): string {
    try {
      const parsed = JSON.parse(metadata) as Record<string, unknown>;
      if (typeof parsed.channel === 'string') parsed.channel = this.id(parsed.channel);
      return JSON.stringify(parsed);
    } catch {
      return metadata;
    }
  }

  /** Submits a modal as Slack does (view_submission with the view's private_metadata and state). */
  async submitView(input: {
    user: string;
    callbackId: string;
    privateMetadata: string;
    values: Record<string, unknown>;
  }) {
    const payload = {
      type: 'view_submission',
      team: { id: this.teamId, domain: 'acme' },
      user: { id: this.id(input.user), username: input.user.toLowerCase(), team_id: this.teamId },
      api_app_id: 'A0ALLOT',
      token: 'deprecated-verification-token',
      trigger_id: newTriggerId(),
      view: {
        id: 'VMODAL',
        type: 'modal',
        callback_id: input.callbackId,
        private_metadata: this.remapMetadata(input.privateMetadata),
        hash: 'h',
        state: { values: input.values },
      },
      response_urls: [],
    };
    return this.send(
      new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
      'application/x-www-form-urlencoded',
    );
  }

  /** An Events API delivery (JSON), optionally as a retry. */
  async event(event: Record<string, unknown>, options: { eventId?: string; retryNum?: number } = {}) {
    const mapped = Object.fromEntries(
      Object.entries(event).map(([key, value]) => [key, typeof value === 'string' ? this.id(value) : value]),
    );
    const body = JSON.stringify({
      token: 'deprecated-verification-token',
      team_id: this.teamId,
      api_app_id: 'A0ALLOT',
      event: mapped,
      type: 'event_callback',
      event_id: options.eventId ?? `Ev${randomBytes(6).toString('hex').toUpperCase()}`,
      event_time: Math.floor(Date.now() / 1000),
      ...(this.enterpriseId ? { enterprise_id: this.enterpriseId } : {}),
      authorizations: [
        {
          enterprise_id: this.enterpriseId ?? null,
          team_id: this.orgInstall ? null : this.teamId,
          user_id: 'UALLOTBOT',
          is_bot: true,
          is_enterprise_install: this.orgInstall,
        },
      ],
    });
    const headers: Record<string, string> =
      options.retryNum === undefined
        ? {}
        : { 'x-slack-retry-num': String(options.retryNum), 'x-slack-retry-reason': 'http_timeout' };
    return this.send(body, 'application/json', headers);
  }
}
