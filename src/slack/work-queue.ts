/**
 * Work done after a Slack acknowledgement, run at most `concurrency` at a time. Without a bound, a
 * burst of commands starts hundreds of chains at once that crowd the event loop and the database
 * pool, and the next acknowledgements (which must leave within 3 s) wait behind them. With it, the
 * acknowledgements stay fast and the replies queue up (a response_url stays valid for 30 minutes).
 */
export interface WorkQueue {
  /** Runs `work` when a slot is free; resolves when it has finished. Never rejects. */
  run(work: () => Promise<unknown>): Promise<void>;
  /** Work waiting for a slot. */
  readonly waiting: number;
  readonly running: number;
  /** Resolves when nothing is running or waiting. */
  drain(): Promise<void>;
}

export function createWorkQueue(options: { concurrency: number; onError: (error: unknown) => void }): WorkQueue {
  const queue: (() => void)[] = [];
  let running = 0;
  let drained: (() => void)[] = [];
  const next = () => {
    while (running < options.concurrency && queue.length > 0) {
      running++;
      queue.shift()!();
    }
    if (running === 0 && queue.length === 0) {
      const waiters = drained;
      drained = [];
      for (const resolve of waiters) resolve();
    }
  };
  return {
    run(work) {
      return new Promise<void>((resolve) => {
        queue.push(() => {
          work()
            .catch(options.onError)
            .finally(() => {
              running--;
              resolve();
              next();
            });
        });
        next();
      });
    },
    get waiting() {
      return queue.length;
    },
    get running() {
      return running;
    },
    drain() {
      if (running === 0 && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => drained.push(resolve));
    },
  };
}
