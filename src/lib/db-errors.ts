/** The SQLSTATE of a database error, looking through drizzle's wrapper. */
export function sqlStateOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Serialization failures, deadlocks and a concurrent twin on a unique key: safe to run again. */
const retryableStates = new Set(['40001', '40P01', '23505']);

export const transactionAttemptsMax = 8;

/** Runs `work` again on a retryable database error, with a short jittered backoff. */
export async function withRetries<T>(work: () => Promise<T>, attemptsMax = transactionAttemptsMax): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const state = sqlStateOf(error);
      if (attempt >= attemptsMax || !state || !retryableStates.has(state)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
  }
}
