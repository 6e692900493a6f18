import type { Orm } from '../db/client';
import { type IdentityPlatform, listIdentities, type MemberIdentity } from '../members/members.repository';
import type { ChatMessage } from './message.models';

/** Where a sent message lives, so it can be edited later (Slack channel + ts; Teams conversation + activity id). */
export interface MessageLocation {
  platform: IdentityPlatform;
  /** Platform-specific fields, all strings so they store as JSON. */
  ref: Record<string, string>;
}

export type SendOutcome =
  | { ok: true; location: MessageLocation }
  /** unreachable: the person or conversation cannot be written to (left, blocked, bot removed). */
  | { ok: false; reason: 'unreachable' | 'failed' | 'no_identity'; detail?: string };

/** A chat platform's ability to message people directly and to edit what it sent. */
export interface PlatformSender {
  platform: IdentityPlatform;
  sendDirect(input: { orgId: bigint; identity: MemberIdentity; message: ChatMessage }): Promise<SendOutcome>;
  update(input: { orgId: bigint; location: MessageLocation; message: ChatMessage }): Promise<SendOutcome>;
  /** Posts into a channel or group conversation (digests). Slack: ref.channelId; Teams: ref.conversationId. */
  postToChannel?(input: { orgId: bigint; destination: MessageLocation; message: ChatMessage }): Promise<SendOutcome>;
}

/**
 * Sends messages to members on whichever platform knows them. One person may be on Slack and Teams;
 * a message goes to one of their identities, preferring the platform the action came from.
 */
export class Notifier {
  private readonly senders = new Map<IdentityPlatform, PlatformSender>();

  constructor(private readonly orm: () => Orm) {}

  register(sender: PlatformSender): void {
    this.senders.set(sender.platform, sender);
  }

  hasSender(platform: IdentityPlatform): boolean {
    return this.senders.has(platform);
  }

  async notifyMember(input: {
    orgId: bigint;
    memberId: bigint;
    message: ChatMessage;
    preferPlatform?: IdentityPlatform | string;
  }): Promise<SendOutcome> {
    const identities = await listIdentities(this.orm(), input.orgId, input.memberId);
    const ordered = [...identities].sort(
      (a, b) => Number(b.platform === input.preferPlatform) - Number(a.platform === input.preferPlatform),
    );
    let last: SendOutcome = { ok: false, reason: 'no_identity' };
    for (const identity of ordered) {
      const sender = this.senders.get(identity.platform);
      if (!sender) continue;
      last = await sender.sendDirect({ orgId: input.orgId, identity, message: input.message });
      if (last.ok) return last;
    }
    return last;
  }

  async postToChannel(input: {
    orgId: bigint;
    destination: MessageLocation;
    message: ChatMessage;
  }): Promise<SendOutcome> {
    const sender = this.senders.get(input.destination.platform);
    if (!sender?.postToChannel)
      return { ok: false, reason: 'failed', detail: `no ${input.destination.platform} channel sender` };
    return sender.postToChannel(input);
  }

  async update(input: { orgId: bigint; location: MessageLocation; message: ChatMessage }): Promise<SendOutcome> {
    const sender = this.senders.get(input.location.platform);
    if (!sender) return { ok: false, reason: 'failed', detail: `no ${input.location.platform} sender` };
    return sender.update(input);
  }
}
