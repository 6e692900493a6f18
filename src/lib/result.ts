import type { DetailOf } from './failures';

/** Verbs return a result or a named failure; only bugs throw. */
export type Ok<T> = { ok: true; value: T };

/**
 * A named failure. For a union of codes this is a union of failures, so narrowing on `failure` gives
 * that code's `detail` type (src/lib/failures.ts); a code without details has none. A failure of any
 * code (`Failure<string>`) may carry any details.
 */
export type Failure<F extends string> = string extends F
  ? { ok: false; failure: F; detail?: Record<string, unknown> }
  : F extends string
    ? [DetailOf<F>] extends [never]
      ? { ok: false; failure: F; detail?: undefined }
      : { ok: false; failure: F; detail?: DetailOf<F> }
    : never;

export type Result<T, F extends string> = Ok<T> | Failure<F>;

export const ok = <T>(value: T): Ok<T> => ({ ok: true, value });

/** A failure with its code's details (checked against src/lib/failures.ts). */
export function fail<F extends string>(failure: F, detail?: DetailOf<F>): Failure<F> {
  return (detail === undefined ? { ok: false, failure } : { ok: false, failure, detail }) as Failure<F>;
}
