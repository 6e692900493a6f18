import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Ctx } from '../lib/context';
import { authenticateApiKey } from './api-keys.usecases';
import { requestBytesMax, requestsInFlightPerKeyMax } from './usage.models';

// The middleware every route of Allot's HTTP API shares (/v1/usage, /v1/reservations,
// /v1/entitlements): API-key authentication, a bound on requests in flight per key, JSON bodies only,
// and friendly JSON for body errors. One home, so every route answers the same way.

/** Media types of a JSON body (RFC 6839 `+json` suffixes included). */
export const jsonTypes = ['application/json', 'application/*+json'];

/** Express 5 forwards a rejected promise to the error handlers; this keeps the types plain. */
export function wrap(handler: (req: Request, res: Response, next: NextFunction) => Promise<void> | void) {
  return (req: Request, res: Response, next: NextFunction) => Promise.resolve(handler(req, res, next)).catch(next);
}

/**
 * How a guard refuses a request: `status`, a code (`unauthorized`, `too_many_requests`) and a message
 * saying what to do. The default answers `{"error","message"}` as JSON; a route with a wire format of its
 * own (OTLP's google.rpc.Status on /v1/traces) passes its own.
 */
export type Refuse = (req: Request, res: Response, status: number, error: string, message: string) => void;

/** The API's own refusal: `{"error": code, "message": …}`. */
export const refuseJson: Refuse = (_req, res, status, error, message) => {
  res.status(status).json({ error, message });
};

/**
 * `Authorization: Bearer <API key>`: 401 with what to do when it is missing, unknown or revoked (through
 * `refuse`); otherwise `res.locals.orgId` and `res.locals.keyId` are the key's organisation and id.
 */
export function authenticate(ctx: Ctx, refuse: Refuse = refuseJson): RequestHandler {
  return wrap(async (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      refuse(
        req,
        res,
        401,
        'unauthorized',
        'Send your API key as "Authorization: Bearer allot_…"; an admin creates one with allot apikey create.',
      );
      return;
    }
    const key = await authenticateApiKey(ctx, match[1]!);
    if (!key) {
      refuse(
        req,
        res,
        401,
        'unauthorized',
        'This API key is unknown or revoked; ask an admin for a new one (allot apikey create).',
      );
      return;
    }
    res.locals.orgId = key.orgId;
    res.locals.keyId = key.keyId;
    next();
  });
}

/**
 * At most `max` requests per API key at once (after `authenticate`; default `requestsInFlightPerKeyMax`,
 * the bound of /v1/usage's batches): beyond it, 429 with `Retry-After: 1` (through `refuse`). `inFlight` is
 * shared by every route that should share the bound.
 */
export function limitInFlight(
  inFlight: Map<bigint, number>,
  max = requestsInFlightPerKeyMax,
  refuse: Refuse = refuseJson,
): RequestHandler {
  return (req, res, next) => {
    const keyId = res.locals.keyId as bigint;
    const current = inFlight.get(keyId) ?? 0;
    if (current >= max) {
      res.set('Retry-After', '1');
      refuse(
        req,
        res,
        429,
        'too_many_requests',
        `At most ${max} requests per key at once; wait for an answer before sending more.`,
      );
      return;
    }
    inFlight.set(keyId, current + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (inFlight.get(keyId) ?? 1) - 1;
      if (left <= 0) inFlight.delete(keyId);
      else inFlight.set(keyId, left);
    };
    res.on('finish', release);
    res.on('close', release);
    next();
  };
}

/** JSON only: a body sent as anything else is answered 415, naming the header to send (before it is read). */
export const requireJson: RequestHandler = (req, res, next) => {
  // type-is answers null for a request without a body; the route answers that one 400 itself.
  if (req.is(jsonTypes) === false) {
    res.status(415).json({
      error: 'unsupported_media_type',
      message: `Send the body as JSON with the header "Content-Type: application/json" (got "${String(req.get('content-type') ?? 'none').slice(0, 100)}").`,
    });
    return;
  }
  next();
};

/** The JSON body parser of the API: at most `requestBytesMax` (1 MiB). */
export const jsonBody = express.json({ limit: requestBytesMax, type: jsonTypes });

/** Body errors of an API route as friendly JSON (413 too large, 400 not JSON) rather than a bare code. */
export function bodyErrors(help: string) {
  return (error: unknown, _req: Request, res: Response, next: NextFunction) => {
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large') {
      res.status(413).json({
        error: 'payload_too_large',
        message: `At most ${requestBytesMax} bytes (1 MiB) per request; send fewer events per request.`,
      });
      return;
    }
    if (type === 'entity.parse.failed' || type === 'encoding.unsupported' || type === 'charset.unsupported') {
      res.status(400).json({ error: 'bad_request', message: `The body is not valid JSON. ${help}` });
      return;
    }
    next(error);
  };
}

/** Any other method on a route: 405 with the methods it takes, and what to send. */
export function onlyMethods(allow: string, what: string): RequestHandler {
  return (req, res) => {
    res.set('Allow', allow);
    res.status(405).json({
      error: 'method_not_allowed',
      message: `${req.method} is not supported here; ${what} with "Authorization: Bearer <key>".`,
    });
  };
}
