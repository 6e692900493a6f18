/**
 * First come, first served ownership of PGlite's one database session.
 *
 * PGlite is a single Postgres backend: whatever runs next runs inside whatever transaction is open.
 * Its own locks are not enough once a second client shares it: `transaction()` lets go of PGlite's
 * query lock between statements, and `runExclusive` (what pglite-socket uses) takes only that lock,
 * so a socket client's statement can land inside the server's transaction and the other way round.
 * Every user of the session takes this gate instead, for a whole unit of work: an in-process query
 * or transaction, or a socket client's exchange from its first message to the ReadyForQuery that
 * finds the session idle again.
 */
export class SessionGate {
  #tail: Promise<void> = Promise.resolve();
  #waiting = 0;

  /** Waits for the session and returns the function that hands it on (calling it twice is harmless). */
  async acquire(): Promise<() => void> {
    let handOn!: () => void;
    const released = new Promise<void>((resolve) => {
      handOn = resolve;
    });
    const previous = this.#tail;
    this.#tail = previous.then(() => released);
    this.#waiting++;
    await previous;
    this.#waiting--;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      handOn();
    };
  }

  /** Runs `work` while holding the session. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await work();
    } finally {
      release();
    }
  }

  /** Users waiting for the session (for logs and tests). */
  get waiting(): number {
    return this.#waiting;
  }
}
