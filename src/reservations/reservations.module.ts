import type { Request, Response } from 'express';
import client from 'prom-client';
import { z } from 'zod';
import { nextAllowance } from '../allowances/allowances.usecases';
import type { AppDeps, AppModule } from '../app/module';
import type { AlertRunner } from '../usage/alerts.usecases';
import {
  authenticate,
  bodyErrors,
  jsonBody,
  limitInFlight,
  onlyMethods,
  requireJson,
  wrap,
} from '../usage/api.middleware';
import type { WalletDebit } from '../usage/usage.usecases';
import { reservationBatcher } from './reservations.batcher';
import {
  gatewayRequestsInFlightPerKeyMax,
  insufficientTokensMessage,
  reservationKeyLengthMax,
} from './reservations.models';
import { reservationTimeoutSecondsMax } from './reservations.tables';
import {
  expireReservations,
  getEntitlement,
  releaseReservation,
  reserveTokens,
  settleReservation,
} from './reservations.usecases';

/** How often each replica sweeps expired reservations (each reservation expires once, whoever sweeps). */
export const sweepIntervalMs = 5_000;

const reserveHelp =
  'Send JSON like {"id":"call-123","user":"ana@example.com","tokens":4000,"model":"gpt-4o","timeout_seconds":300}.';
const settleHelp =
  'Send JSON like {"model":"gpt-4o","input_tokens":1200,"output_tokens":350} (optional "category" and "time").';

const reserveBody = z.object({
  id: z.string().min(1).max(reservationKeyLengthMax),
  user: z.string().min(3).max(254),
  tokens: z.number().int().min(1).max(1_000_000_000_000),
  model: z.string().min(1).max(200).optional(),
  timeout_seconds: z.number().int().min(1).max(reservationTimeoutSecondsMax).optional(),
});

const fieldMessages: Record<string, string> = {
  id: `"id" must be your id for this reservation: text of 1 to ${reservationKeyLengthMax} characters, unique per call.`,
  user: '"user" must be an email, "slack:U…" (a Slack user id) or "teams:<Entra object id>".',
  tokens: '"tokens" must be a whole number from 1 to 1,000,000,000,000.',
  model: '"model" must be a model name of at most 200 characters.',
  timeout_seconds: `"timeout_seconds" must be a whole number of seconds from 1 to ${reservationTimeoutSecondsMax} (default 300).`,
};

function badField(res: Response, field: string, missing: boolean) {
  res.status(400).json({
    error: missing ? 'missing_field' : 'invalid_field',
    field,
    message: missing ? `"${field}" is missing. ${fieldMessages[field] ?? ''}`.trim() : fieldMessages[field],
  });
}

const tokensJson = (value: bigint) => Number(value);

/**
 * The gateway API (README, "Reservations"): `POST /v1/reservations`, `POST /v1/reservations/{id}/settle`,
 * `POST /v1/reservations/{id}/release` and `GET /v1/entitlements?user=…`, with the API keys and limits of
 * /v1/usage; and the sweeper that expires reservations past their deadline. Reserves and settles go
 * through the database's batcher (reservations.batcher.ts), counted on /metrics.
 */
export function createReservationsModule(deps: AppDeps, alerts: AlertRunner): AppModule {
  const inFlight = new Map<bigint, number>();
  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<unknown> = Promise.resolve();
  const sweep = () => {
    sweeping = expireReservations(deps.ctx).catch((error: unknown) =>
      deps.logger.error({ err: error }, 'reservation sweep failed; the next one retries'),
    );
    return sweeping;
  };

  // Group commit, seen from /metrics: requests ÷ batches is the mean batch size.
  const batcher = reservationBatcher(deps.ctx.db);
  const counted = (name: string, help: string, read: () => number) =>
    new client.Counter({
      name,
      help,
      registers: [deps.metrics.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  counted(
    'allot_reservation_batches_total',
    'Transactions that applied reserves and settles together (allot_reservation_batch)',
    () => batcher.stats().batches,
  );
  counted(
    'allot_reservation_batched_requests_total',
    'Reserves and settles applied by those transactions',
    () => batcher.stats().requests,
  );

  // Low-balance alerts after a settle's debit: the runner of /v1/usage, so a wallet is checked once.
  const alertAfter = (orgId: bigint, debit: WalletDebit) => alerts.alertAfter(orgId, [debit]);

  return {
    name: 'reservations',
    mount(app) {
      const guard = [authenticate(deps.ctx), limitInFlight(inFlight, gatewayRequestsInFlightPerKeyMax)];
      app.post(
        '/v1/reservations',
        ...guard,
        requireJson,
        jsonBody,
        wrap((req, res) => handleReserve(deps, req, res)),
        bodyErrors(reserveHelp),
      );
      app.post(
        '/v1/reservations/:id/settle',
        ...guard,
        requireJson,
        jsonBody,
        wrap((req, res) => handleSettle(deps, alertAfter, req, res)),
        bodyErrors(settleHelp),
      );
      app.post(
        '/v1/reservations/:id/release',
        ...guard,
        wrap((req, res) => handleRelease(deps, req, res)),
      );
      app.get(
        '/v1/entitlements',
        ...guard,
        wrap((req, res) => handleEntitlement(deps, req, res)),
      );
      app.all('/v1/reservations', onlyMethods('POST', 'POST {"id","user","tokens"}'));
      app.all('/v1/reservations/:id/settle', onlyMethods('POST', 'POST the usage'));
      app.all('/v1/reservations/:id/release', onlyMethods('POST', 'POST'));
      app.all('/v1/entitlements', onlyMethods('GET', 'GET ?user=<email>'));
    },
    async start() {
      await sweep();
      timer = setInterval(() => void sweep(), sweepIntervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      // The server took no new requests before this; every reserve and settle it took is answered.
      await Promise.allSettled([sweeping, alerts.drain(), batcher.drain()]);
    },
  };
}

/** POST /v1/reservations: 201 held; 402 too few tokens (with a message for the person); 409 same id, other body; 400 naming the field; 404 unknown user. */
async function handleReserve(deps: AppDeps, req: Request, res: Response) {
  const body = req.body as Record<string, unknown> | undefined;
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    res.status(400).json({ error: 'bad_request', message: reserveHelp });
    return;
  }
  const parsed = reserveBody.safeParse(body);
  if (!parsed.success) {
    const field = String(parsed.error.issues[0]?.path[0] ?? 'id');
    badField(res, field, body[field] === undefined);
    return;
  }
  const orgId = res.locals.orgId as bigint;
  const tokens = BigInt(parsed.data.tokens);
  const result = await reserveTokens(deps.ctx, {
    orgId,
    idempotencyKey: parsed.data.id,
    user: parsed.data.user,
    tokens,
    model: parsed.data.model ?? null,
    timeoutSeconds: parsed.data.timeout_seconds,
  });
  if (result.ok) {
    const { reservation, available } = result.value;
    res.status(201).json({
      reservation_id: reservation.idempotencyKey,
      status: reservation.state,
      tokens: tokensJson(reservation.tokens),
      available: tokensJson(available),
      expires_at: reservation.expiresAt.toISOString(),
    });
    return;
  }
  switch (result.failure) {
    case 'insufficient_tokens': {
      const available = result.detail?.available ?? 0n;
      const memberId = result.detail?.memberId ?? null;
      const next = memberId === null ? undefined : await nextAllowance(deps.ctx, { orgId, memberId });
      res.status(402).json({
        error: 'insufficient_tokens',
        available: tokensJson(available),
        message: insufficientTokensMessage({ available, requested: tokens, nextAllowance: next ?? null }),
      });
      return;
    }
    case 'idempotency_conflict':
      res.status(409).json({
        error: 'idempotency_conflict',
        message: `A reservation with id "${parsed.data.id}" was made with another body; use a new id for each call.`,
      });
      return;
    case 'unknown_user':
      res.status(404).json({
        error: 'unknown_user',
        message: `No member of this organisation is "${parsed.data.user}"; add them with allot member add, or send their Slack or Teams id.`,
      });
      return;
    case 'member_inactive':
      res.status(403).json({
        error: 'member_inactive',
        message: 'This member is deactivated in Allot and cannot spend tokens; an admin can reactivate them.',
      });
      return;
    case 'invalid_user':
      badField(res, 'user', false);
      return;
    case 'invalid_timeout':
      badField(res, 'timeout_seconds', false);
      return;
    case 'amount_invalid':
      badField(res, 'tokens', false);
      return;
    case 'invalid_id':
      badField(res, 'id', false);
      return;
  }
}

/** POST /v1/reservations/{id}/settle: 200 with what was debited; 404 unknown; 409 released or settled otherwise; 400 with the usage event's reason. */
async function handleSettle(
  deps: AppDeps,
  alertAfter: (orgId: bigint, debit: WalletDebit) => void,
  req: Request,
  res: Response,
) {
  const body = req.body as Record<string, unknown> | undefined;
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    res.status(400).json({ error: 'bad_request', message: settleHelp });
    return;
  }
  const orgId = res.locals.orgId as bigint;
  const id = String(req.params.id);
  const result = await settleReservation(deps.ctx, {
    orgId,
    idempotencyKey: id,
    usage: {
      model: typeof body.model === 'string' ? body.model : undefined,
      input_tokens: body.input_tokens,
      output_tokens: body.output_tokens,
      category: body.category,
      time: body.time,
    },
  });
  if (result.ok) {
    const { usedTokens, heldTokens, replayed, afterExpiry, reservation } = result.value;
    res.status(200).json({
      reservation_id: id,
      status: reservation.state,
      used_tokens: tokensJson(usedTokens),
      held_tokens: tokensJson(heldTokens),
      released_tokens: tokensJson(heldTokens > usedTokens ? heldTokens - usedTokens : 0n),
      extra_tokens: tokensJson(usedTokens > heldTokens ? usedTokens - heldTokens : 0n),
      replayed,
      settled_after_expiry: afterExpiry,
      // As /v1/usage reports them: a model with no price costs 0 until an admin sets one (allot price set).
      unpriced_models: result.value.unpricedModel ? [result.value.unpricedModel] : [],
      ...(afterExpiry
        ? { message: 'The reservation had expired and its hold was released; the usage was debited all the same.' }
        : {}),
    });
    if (result.value.debit) alertAfter(orgId, result.value.debit);
    return;
  }
  switch (result.failure) {
    case 'reservation_not_found':
      res.status(404).json({ error: 'reservation_not_found', message: `No reservation has id "${id}".` });
      return;
    case 'reservation_released':
      res.status(409).json({
        error: 'reservation_released',
        message: 'This reservation was released (nothing spent); send the usage to /v1/usage if the call did happen.',
      });
      return;
    case 'idempotency_conflict':
      res.status(409).json({
        error: 'idempotency_conflict',
        message: 'This reservation was already settled with other figures; nothing more was debited.',
      });
      return;
    case 'usage_rejected': {
      res.status(400).json({
        error: result.detail?.reason ?? 'bad_request',
        ...(result.detail?.field ? { field: result.detail.field } : {}),
        message: result.detail?.message ?? settleHelp,
      });
      return;
    }
  }
}

/** POST /v1/reservations/{id}/release: 200 released (again: replayed); 404 unknown; 409 already settled or expired. */
async function handleRelease(deps: AppDeps, _req: Request, res: Response) {
  const orgId = res.locals.orgId as bigint;
  const id = String(_req.params.id);
  const result = await releaseReservation(deps.ctx, { orgId, idempotencyKey: id });
  if (result.ok) {
    res.status(200).json({
      reservation_id: id,
      status: 'released',
      tokens: tokensJson(result.value.reservation.tokens),
      replayed: result.value.replayed,
    });
    return;
  }
  if (result.failure === 'reservation_not_found') {
    res.status(404).json({ error: 'reservation_not_found', message: `No reservation has id "${id}".` });
    return;
  }
  const state = result.detail?.state ?? 'resolved';
  res.status(409).json({
    error: 'reservation_already_resolved',
    status: state,
    message: `This reservation is already ${state}; nothing was changed.`,
  });
}

/** GET /v1/entitlements?user=…: balance, held, available, access, next allowance and low balance. */
async function handleEntitlement(deps: AppDeps, req: Request, res: Response) {
  const user = typeof req.query.user === 'string' ? req.query.user : '';
  if (!user) {
    res.status(400).json({
      error: 'missing_field',
      field: 'user',
      message: `Name the person: GET /v1/entitlements?user=ana@example.com. ${fieldMessages.user}`,
    });
    return;
  }
  const result = await getEntitlement(deps.ctx, {
    orgId: res.locals.orgId as bigint,
    user,
    percents: deps.config.LOW_BALANCE_ALERT_PERCENTS,
  });
  if (!result.ok) {
    if (result.failure === 'invalid_user') {
      res.status(400).json({
        error: 'invalid_field',
        field: 'user',
        message: `${fieldMessages.user} In the query, URL-encode it (a "+" in an email is %2B).`,
      });
    } else res.status(404).json({ error: 'unknown_user', message: `No member of this organisation is "${user}".` });
    return;
  }
  const value = result.value;
  res.status(200).json({
    user: value.user,
    balance: tokensJson(value.balance),
    held: tokensJson(value.held),
    available: tokensJson(value.available),
    has_access: value.hasAccess,
    next_allowance_at: value.nextAllowance?.at.toISOString() ?? null,
    low_balance: value.lowBalance,
  });
}
