// A small typed client for AI gateways: reserve tokens before a model call, settle them with the
// call's usage after it, release them when the call fails, and read a person's entitlement. It speaks
// Allot's HTTP API (README, "Reservations") over Node's own http/https with keep-alive connections
// (or any fetch you pass); nothing else of Allot is imported, so a gateway can copy this file alone.
//
// Why not the global fetch by default: a gateway calls Allot twice per model call, and Node's fetch
// (undici's WHATWG layer, with an AbortSignal per request) costs several times the CPU of
// http.request on a kept-alive socket (bench/README.md, "Reservations"), CPU the gateway needs.
import http from 'node:http';
import https from 'node:https';

/** Where Allot runs and the organisation's API key (`allot apikey create`). */
export interface AllotClientOptions {
  /** Allot's base URL, e.g. `https://allot.acme.com`. */
  baseUrl: string;
  apiKey: string;
  /** Per-request timeout in milliseconds (default 10,000): past it the call fails with AllotTimeoutError. */
  timeoutMs?: number;
  /** Send through this fetch instead of Node's http/https (another runtime, a proxy, a test's recorder). */
  fetch?: typeof fetch;
  /** Most connections kept open to Allot at once (default 64); more requests wait for one. */
  maxSockets?: number;
}

export interface ReserveInput {
  /** Your id for this call: a retry with the same id and body is answered as the first was. */
  id: string;
  /** An email, `slack:U…` or `teams:<Entra object id>`. */
  user: string;
  tokens: number;
  model?: string;
  /** Seconds before Allot releases the hold by itself (default 300, at most 3,600). */
  timeoutSeconds?: number;
}

export interface Reservation {
  reservation_id: string;
  /**
   * `held` for a new reservation. A repeat of an id whose call was already settled, released or expired
   * answers with that state: the call was made before, and must not be made again.
   */
  status: 'held' | 'settled' | 'released' | 'expired';
  tokens: number;
  available: number;
  expires_at: string;
}

export interface SettleUsage {
  model?: string;
  input_tokens: number;
  output_tokens: number;
  category?: string;
  /** When the usage happened (ISO 8601); default the reservation's time (so a retry is the same event). */
  time?: string;
}

export interface Settlement {
  reservation_id: string;
  status: 'settled' | 'expired';
  used_tokens: number;
  held_tokens: number;
  released_tokens: number;
  extra_tokens: number;
  replayed: boolean;
  settled_after_expiry: boolean;
  /** The settled model when it has no price in Allot (the usage was debited and cost 0), as /v1/usage reports. */
  unpriced_models: string[];
  message?: string;
}

export interface Entitlement {
  user: string;
  balance: number;
  held: number;
  available: number;
  has_access: boolean;
  next_allowance_at: string | null;
  low_balance: boolean;
}

/** Allot answered with an error: `status` is the HTTP status, `code` Allot's error name. */
export class AllotApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AllotApiError';
  }
}

/** 402: the person has not enough tokens available; `message` is written for them. */
export class InsufficientTokensError extends AllotApiError {
  readonly available: number;
  constructor(body: Record<string, unknown>) {
    super(402, 'insufficient_tokens', String(body.message ?? 'Not enough tokens available.'), body);
    this.name = 'InsufficientTokensError';
    this.available = Number(body.available ?? 0);
  }
}

/** Allot did not answer within `timeoutMs`; the call may or may not have reached it (retry with the same id). */
export class AllotTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`Allot did not answer within ${timeoutMs} ms; retry with the same id (a retry is never applied twice).`);
    this.name = 'AllotTimeoutError';
  }
}

/** A request as the client sends it: `path` below the base URL, the body as JSON text. */
interface Outgoing {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
  timeoutMs: number;
}

/** An answer as the client reads it: the HTTP status and the body's text. */
interface Answer {
  status: number;
  text: string;
}

/**
 * The gateway's view of Allot: reserve, settle, release, entitlement. Each call is one HTTP request, on
 * a kept-alive connection (idle ones never keep a process alive); `close()` at shutdown lets calls in
 * flight finish and closes every connection as it comes free.
 */
export class AllotClient {
  private readonly baseUrl: string;
  private readonly agent: http.Agent | undefined;
  private closing = false;

  constructor(private readonly options: AllotClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    if (!options.fetch) {
      const Agent = this.baseUrl.startsWith('https:') ? https.Agent : http.Agent;
      this.agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 });
    }
  }

  /**
   * Closes the connections kept open to Allot: idle ones now, those of calls in flight once their call
   * is answered (the call is not cut). A call made afterwards still works, on a connection of its own.
   */
  close(): void {
    const agent = this.agent;
    if (!agent || this.closing) return;
    this.closing = true;
    agent.on('free', (socket) => socket.destroy());
    for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
  }

  /** Holds tokens for a call. Throws InsufficientTokensError (402) when the person has too few. */
  reserve(input: ReserveInput): Promise<Reservation> {
    return this.request<Reservation>('POST', '/v1/reservations', {
      id: input.id,
      user: input.user,
      tokens: input.tokens,
      ...(input.model === undefined ? {} : { model: input.model }),
      ...(input.timeoutSeconds === undefined ? {} : { timeout_seconds: input.timeoutSeconds }),
    });
  }

  /** Settles a reservation with the call's usage, once (a retry is answered `replayed: true`). */
  settle(id: string, usage: SettleUsage): Promise<Settlement> {
    return this.request<Settlement>('POST', `/v1/reservations/${encodeURIComponent(id)}/settle`, usage);
  }

  /** Releases a reservation whose call spent nothing. */
  release(id: string): Promise<{ reservation_id: string; status: 'released'; tokens: number; replayed: boolean }> {
    return this.request('POST', `/v1/reservations/${encodeURIComponent(id)}/release`, undefined);
  }

  /** What the person may spend now. */
  entitlement(user: string): Promise<Entitlement> {
    return this.request<Entitlement>('GET', `/v1/entitlements?user=${encodeURIComponent(user)}`, undefined);
  }

  private async request<T>(method: 'GET' | 'POST', path: string, body: unknown): Promise<T> {
    const json = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { authorization: `Bearer ${this.options.apiKey}` };
    if (json !== undefined) headers['content-type'] = 'application/json';
    const outgoing: Outgoing = { method, path, headers, body: json, timeoutMs: this.options.timeoutMs ?? 10_000 };
    const response = this.options.fetch
      ? await this.viaFetch(this.options.fetch, outgoing)
      : await this.viaHttp(outgoing);
    const text = response.text;
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      parsed = { error: 'not_json', message: text.slice(0, 200) };
    }
    if (response.status >= 200 && response.status < 300) return parsed as T;
    if (response.status === 402) throw new InsufficientTokensError(parsed);
    throw new AllotApiError(
      response.status,
      String(parsed.error ?? 'http_error'),
      String(parsed.message ?? `${method} ${path} answered ${response.status}`),
      parsed,
    );
  }

  private async viaFetch(send: typeof fetch, { method, path, headers, body, timeoutMs }: Outgoing): Promise<Answer> {
    try {
      const response = await send(`${this.baseUrl}${path}`, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      return { status: response.status, text: await response.text() };
    } catch (error) {
      if ((error as Error | undefined)?.name === 'TimeoutError') throw new AllotTimeoutError(timeoutMs);
      throw error;
    }
  }

  private viaHttp({ method, path, headers, body, timeoutMs }: Outgoing): Promise<Answer> {
    const url = new URL(`${this.baseUrl}${path}`);
    const send = url.protocol === 'https:' ? https.request : http.request;
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    return new Promise<Answer>((resolve, reject) => {
      const request = send(url, { method, headers, agent: this.agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          clearTimeout(timer);
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        response.on('error', fail);
      });
      const timer = setTimeout(() => request.destroy(new AllotTimeoutError(timeoutMs)), timeoutMs);
      function fail(error: Error) {
        clearTimeout(timer);
        reject(error);
      }
      request.on('error', fail);
      request.end(body);
    });
  }
}
