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
    call.answer = this.answer(method, params);
    return { status: 200, body: call.answer };
  }

  // biome-ignore lint/suspicious/noExplicitAny: Web API answers are free-form JSON.
  private answer(method: string, params: Record<string, any>): Record<string, any> {
    switch (method) {
      case 'auth.test':
        return { ok: true, user_id: 'UALLOTBOT', bot_id: 'BALLOT', team_id: 'T0', user: 'allot' };
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
        // No WebSocket server here: Socket Mode tests only check that the app-level token reaches us.
        return { ok: false, error: 'invalid_auth' };
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
