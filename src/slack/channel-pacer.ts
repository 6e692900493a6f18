/**
 * Slack allows about one message per second per channel (chat.postMessage is rate limited per
 * channel, with short bursts). Messages to one channel are spaced by `intervalMs`; different
 * channels do not wait on each other. Per process: with several replicas, Slack's 429 + Retry-After,
 * which the WebClient honours, absorbs what one replica cannot see.
 */
export class ChannelPacer {
  private readonly nextAt = new Map<string, number>();

  constructor(
    private readonly intervalMs = 1_000,
    private readonly channelsTrackedMax = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Waits until a message may go to `channel`, and books the slot. */
  async wait(channel: string): Promise<void> {
    const now = this.now();
    const slot = Math.max(now, this.nextAt.get(channel) ?? 0);
    this.nextAt.delete(channel);
    this.nextAt.set(channel, slot + this.intervalMs);
    if (this.nextAt.size > this.channelsTrackedMax) {
      // The oldest bookings are long past; forgetting them never lets a message go early.
      for (const [key, at] of this.nextAt) {
        if (at > now || this.nextAt.size <= this.channelsTrackedMax) break;
        this.nextAt.delete(key);
      }
    }
    if (slot > now) await new Promise((resolve) => setTimeout(resolve, slot - now));
  }
}
