// A small typed client for AI gateways: reserve tokens before a model call, settle them with the
// call's usage after it, release them when the call fails, and read a person's entitlement. It speaks
// Allot's HTTP API (README, "Reservations") with the global fetch; nothing else of Allot is imported,
// so a gateway can copy this file alone.

/** Where Allot runs and the organisation's API key (`allot apikey create`). */
export interface AllotClientOptions {
  /** Allot's base URL, e.g. `https://allot.acme.com`. */
  baseUrl: string;
  apiKey: string;
  /** Per-request timeout in milliseconds (default 10,000). */
  timeoutMs?: number;
  fetch?: typeof fetch;
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

/** The gateway's view of Allot: reserve, settle, release, entitlement. Each call is one HTTP request. */
export class AllotClient {
  private readonly baseUrl: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: AllotClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetch = options.fetch ?? fetch;
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
    const response = await this.fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.options.apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
    });
    const text = await response.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      parsed = { error: 'not_json', message: text.slice(0, 200) };
    }
    if (response.ok) return parsed as T;
    if (response.status === 402) throw new InsufficientTokensError(parsed);
    throw new AllotApiError(
      response.status,
      String(parsed.error ?? 'http_error'),
      String(parsed.message ?? `${method} ${path} answered ${response.status}`),
      parsed,
    );
  }
}
