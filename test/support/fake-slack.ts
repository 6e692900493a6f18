import { createServer, type IncomingMessage, type Server } from 'node:http';

/** One call the bot made to the fake Slack Web API. */
export interface WebApiCall {
  method: string;
  token: string | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: recorded Web API arguments are free-form JSON.
  params: Record<string, any>;
  at: number;
  /** What the fake answered. */
  // biome-ignore lint/suspicious/noExplicitAny: recorded answers are free-form JSON.
  answer?: Record<string, any>;
}

/** One POST to a response_url. */
export interface ResponsePost {
  path: string;
  // biome-ignore lint/suspicious/noExplicitAny: recorded response bodies are free-form JSON.
  body: Record<string, any>;
  at: number;
}

export interface FakeSlackUser {
  id: string;
  name?: string;
  email?: string;
  tz?: string;
  is_admin?: boolean;
  is_owner?: boolean;
  is_primary_owner?: boolean;
  is_bot?: boolean;
  deleted?: boolean;
}

type Injected = { status: 429; retryAfterS: number } | { error: string } | { delayMs: number };

/** A workspace (or a whole Grid enterprise) that approved Allot on Slack's consent screen. */
export interface FakeInstallation {
  /** The code Slack appends to the redirect URL; oauth.v2.access exchanges it once. */
  code: string;
  token: string;
  teamId?: string;
  teamName?: string;
  enterpriseId?: string;
  enterpriseName?: string;
  isEnterpriseInstall: boolean;
  botUserId: string;
  botId: string;
  installerUserId: string;
  scope: string;
}

/** The Slack app the fake plays the far side of (what oauth.v2.access checks). */
export const fakeSlackApp = { appId: 'A0ALLOT', clientId: '1111.2222', clientSecret: 'fake-client-secret-0123456789' };

/** Nested Web API arguments arrive JSON-encoded inside the form. */
const jsonFields = new Set(['blocks', 'view', 'attachments', 'users']);

/**
 * A stand-in for Slack's Web API (`SLACK_API_URL` = `${url}/api/`) and for response_url targets (any
 * other path). It records everything the bot sends, serves users.info from a registry, and can be
 * told to answer a method with a 429 + Retry-After, an `ok:false` error, or a delay.
 */
export class FakeSlack {
  readonly calls: WebApiCall[] = [];
  readonly responses: ResponsePost[] = [];
  readonly users = new Map<string, FakeSlackUser>();
  private readonly injected = new Map<string, Injected[]>();
  private readonly responseWaiters = new Map<string, (post: ResponsePost) => void>();
  private server!: Server;
  private tsCounter = 1000;
  url = '';
  /** Installations by code (consented, maybe not yet exchanged) and by token (exchanged). */
  private readonly installationsByCode = new Map<string, FakeInstallation & { exchanged: boolean }>();
  private readonly installationsByToken = new Map<string, FakeInstallation>();
  /** Tokens Slack no longer accepts (the app was uninstalled, or the token revoked). */
  readonly revokedTokens = new Set<string>();
  /** What apps.connections.open answers: a Socket Mode URL, once a fake Socket Mode server runs. */
  socketModeUrl: string | undefined;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        ({ status, body, headers }) => {
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(JSON.stringify(body));
        },
        (error) => {
          res.writeHead(500);
          res.end(String(error));
        },
      );
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  addUser(user: FakeSlackUser): FakeSlackUser {
    this.users.set(user.id, user);
    return user;
  }

  /** The next `times` calls of `method` get this answer instead of the normal one. */
  inject(method: string, answer: Injected, times = 1): void {
    const queue = this.injected.get(method) ?? [];
    for (let i = 0; i < times; i++) queue.push(answer);
    this.injected.set(method, queue);
  }

  /**
   * Someone approved Allot for a workspace (or, org-wide, for a Grid enterprise) on Slack's consent
   * screen: Slack would now redirect them to /slack/oauth_redirect with this installation's code.
   */
  consent(input: Omit<FakeInstallation, 'code' | 'token' | 'botUserId' | 'botId' | 'scope'> & { scope: string }) {
    const owner = input.isEnterpriseInstall ? input.enterpriseId : input.teamId;
    const installation = {
      ...input,
      code: `code-${owner}-${this.installationsByCode.size}-${Math.random().toString(36).slice(2, 10)}`,
      token: `xoxb-${owner}-${Math.random().toString(36).slice(2, 14)}`,
      botUserId: `UBOT${owner}`,
      botId: `B${owner}`,
      exchanged: false,
    };
    this.installationsByCode.set(installation.code, installation);
    return installation;
  }

  /** Slack stops accepting a token (uninstalled or revoked): every later call with it is refused. */
  revoke(token: string): void {
    this.revokedTokens.add(token);
  }

  callsOf(method: string): WebApiCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  responsesTo(path: string): ResponsePost[] {
    return this.responses.filter((post) => post.path === path);
  }

  /** The first post to a response path, without polling (for load runs with many waiting at once). */
  nextResponse(path: string, timeoutMs = 60_000): Promise<ResponsePost> {
    const already = this.responses.find((post) => post.path === path);
    if (already) return Promise.resolve(already);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no response to ${path}`)), timeoutMs);
      this.responseWaiters.set(path, (post) => {
        clearTimeout(timer);
        resolve(post);
      });
    });
  }

  async waitFor<T>(probe: () => T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
    const started = Date.now();
    for (;;) {
      const value = probe();
      if (value) return value;
      if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private async handle(req: IncomingMessage) {
    const raw = await readBody(req);
    const path = (req.url ?? '/').split('?')[0]!;
    if (!path.startsWith('/api/')) {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(raw);
      } catch {
        body = { raw };
      }
      const post = { path, body, at: Date.now() };
      this.responses.push(post);
      this.responseWaiters.get(path)?.(post);
      this.responseWaiters.delete(path);
      return { status: 200, body: { ok: true } };
    }
    const method = path.slice('/api/'.length);
    const params: Record<string, unknown> = {};
    if ((req.headers['content-type'] ?? '').includes('application/json')) {
      Object.assign(params, raw ? JSON.parse(raw) : {});
    } else {
      for (const [key, value] of new URLSearchParams(raw)) {
        params[key] = jsonFields.has(key) && /^[[{]/.test(value) ? JSON.parse(value) : value;
      }
    }
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '') || undefined;
    const call: WebApiCall = { method, token, params, at: Date.now() };
    this.calls.push(call);
    if (token && this.revokedTokens.has(token)) {
      call.answer = { ok: false, error: 'token_revoked' };
      return { status: 200, body: call.answer };
    }
    const injected = this.injected.get(method)?.shift();
    if (injected && 'delayMs' in injected) await new Promise((resolve) => setTimeout(resolve, injected.delayMs));
    if (injected && 'status' in injected) {
      call.answer = { ok: false, error: 'ratelimited', status: 429 };
      return {
        status: 429,
        body: { ok: false, error: 'ratelimited' },
        headers: { 'retry-after': String(injected.retryAfterS) },
      };
    }
    if (injected && 'error' in injected) {
      call.answer = { ok: false, error: injected.error };
      return { status: 200, body: call.answer };
    }
    call.answer = this.answer(method, params, token);
    return { status: 200, body: call.answer };
  }

  /** oauth.v2.access as Slack answers it: the app's credentials checked, each code exchanged once. */
  // biome-ignore lint/suspicious/noExplicitAny: Web API answers are free-form JSON.
  private exchangeCode(params: Record<string, any>): Record<string, any> {
    if (params.client_id !== fakeSlackApp.clientId || params.client_secret !== fakeSlackApp.clientSecret) {
      return { ok: false, error: 'invalid_client_id' };
    }
    const installation = this.installationsByCode.get(String(params.code));
    if (!installation || installation.exchanged) return { ok: false, error: 'invalid_code' };
    installation.exchanged = true;
    this.installationsByToken.set(installation.token, installation);
    return {
      ok: true,
      app_id: fakeSlackApp.appId,
      authed_user: { id: installation.installerUserId },
      scope: installation.scope,
      token_type: 'bot',
      access_token: installation.token,
      bot_user_id: installation.botUserId,
      team: installation.isEnterpriseInstall ? null : { id: installation.teamId, name: installation.teamName },
      enterprise: installation.enterpriseId
        ? { id: installation.enterpriseId, name: installation.enterpriseName }
        : null,
      is_enterprise_install: installation.isEnterpriseInstall,
    };
  }

  // biome-ignore lint/suspicious/noExplicitAny: Web API answers are free-form JSON.
  private answer(method: string, params: Record<string, any>, token?: string): Record<string, any> {
    switch (method) {
      case 'oauth.v2.access':
        return this.exchangeCode(params);
      case 'auth.test': {
        const installed = token ? this.installationsByToken.get(token) : undefined;
        if (!installed) return { ok: true, user_id: 'UALLOTBOT', bot_id: 'BALLOT', team_id: 'T0', user: 'allot' };
        return {
          ok: true,
          url: `https://${(installed.teamId ?? installed.enterpriseId ?? '').toLowerCase()}.slack.example/`,
          team: installed.teamName ?? installed.enterpriseName,
          user: 'allot',
          team_id: installed.teamId ?? installed.enterpriseId,
          user_id: installed.botUserId,
          bot_id: installed.botId,
          enterprise_id: installed.enterpriseId,
          is_enterprise_install: installed.isEnterpriseInstall,
        };
      }
      case 'users.info': {
        const user = this.users.get(String(params.user));
        if (!user) return { ok: false, error: 'user_not_found' };
        return {
          ok: true,
          user: {
            id: user.id,
            name: user.name ?? user.id.toLowerCase(),
            real_name: user.name ?? user.id,
            tz: user.tz ?? 'Europe/Paris',
            is_admin: Boolean(user.is_admin),
            is_owner: Boolean(user.is_owner),
            is_primary_owner: Boolean(user.is_primary_owner),
            is_bot: Boolean(user.is_bot),
            deleted: Boolean(user.deleted),
            profile: { display_name: user.name ?? user.id, real_name: user.name ?? user.id, email: user.email },
          },
        };
      }
      case 'conversations.open':
        return { ok: true, channel: { id: `D${String(params.users).replace(/^U/, '')}` } };
      case 'chat.postMessage':
        return { ok: true, channel: params.channel, ts: `${++this.tsCounter}.000100`, message: { text: params.text } };
      case 'chat.update':
        return { ok: true, channel: params.channel, ts: params.ts };
      case 'chat.postEphemeral':
        return { ok: true, message_ts: `${++this.tsCounter}.000200` };
      case 'views.open':
      case 'views.publish':
        return { ok: true, view: { id: `V${++this.tsCounter}`, ...(params.view ?? {}) } };
      case 'apps.connections.open':
        // Without a fake Socket Mode server the app-level token is refused, as Slack refuses a bad one.
        return this.socketModeUrl ? { ok: true, url: this.socketModeUrl } : { ok: false, error: 'invalid_auth' };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** All text a Block Kit payload would show, flattened (for assertions). */
export function textOf(value: unknown): string {
  const parts: string[] = [];
  const visit = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        if (key === 'text' && typeof child === 'string') parts.push(child);
        else visit(child);
      }
    }
  };
  visit(value);
  return parts.join('\n');
}
