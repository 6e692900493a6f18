/** Verbs return a result or a named failure; only bugs throw. */
export type Ok<T> = { ok: true; value: T };
export type Failure<F extends string> = { ok: false; failure: F; detail?: Record<string, unknown> };
export type Result<T, F extends string> = Ok<T> | Failure<F>;

export const ok = <T>(value: T): Ok<T> => ({ ok: true, value });
export const fail = <F extends string>(failure: F, detail?: Record<string, unknown>): Failure<F> =>
  detail === undefined ? { ok: false, failure } : { ok: false, failure, detail };
