import { setTimeout as sleep } from 'node:timers/promises';

const limitedKeysMax = 10_000;

/**
 * Spaces sends to one destination (a Teams conversation, a Slack channel) so that no window of
 * `windows` is exceeded. Sends to the same destination queue behind each other; different
 * destinations do not wait for each other. Per process: with several replicas, the platforms' 429
 * answers with Retry-After (which both clients honour) absorb what this cannot see.
 */
export class SendLimiter {
  private readonly sent = new Map<string, number[]>();
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly windows: readonly { count: number; ms: number }[],
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Runs `work` once the conversation may take another message. */
  async run<T>(conversationId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(conversationId) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.queues.set(conversationId, tail);
    try {
      await previous;
      await this.waitForSlot(conversationId);
      return await work();
    } finally {
      release();
      if (this.queues.get(conversationId) === tail) this.queues.delete(conversationId);
    }
  }

  private async waitForSlot(conversationId: string): Promise<void> {
    const longestMs = Math.max(...this.windows.map((window) => window.ms));
    for (;;) {
      const now = this.now();
      const times = (this.sent.get(conversationId) ?? []).filter((time) => now - time < longestMs);
      let waitMs = 0;
      for (const window of this.windows) {
        const inWindow = times.filter((time) => now - time < window.ms);
        if (inWindow.length >= window.count) waitMs = Math.max(waitMs, inWindow[0]! + window.ms - now);
      }
      if (waitMs <= 0) {
        times.push(now);
        this.remember(conversationId, times);
        return;
      }
      await sleep(Math.ceil(waitMs));
    }
  }

  private remember(conversationId: string, times: number[]): void {
    this.sent.delete(conversationId);
    this.sent.set(conversationId, times);
    // Forget the conversations written to least recently; a forgotten one merely starts a fresh window.
    while (this.sent.size > limitedKeysMax) {
      const oldest = this.sent.keys().next().value;
      if (oldest === undefined) break;
      this.sent.delete(oldest);
    }
  }
}
