import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import type { FakeSlack } from './fake-slack';

/** An envelope Slack sends over a Socket Mode connection. */
export interface Envelope {
  envelope_id: string;
  type: 'slash_commands' | 'interactive' | 'events_api';
  // biome-ignore lint/suspicious/noExplicitAny: payloads are free-form JSON, as Slack sends them.
  payload: Record<string, any>;
  accepts_response_payload: boolean;
  retry_attempt: number;
  retry_reason: string;
}

/** An acknowledgement the app sent back: `{envelope_id, payload?}`. */
export interface Ack {
  envelope_id: string;
  payload?: Record<string, unknown>;
  /** Which connection (counted from 1) carried it. */
  connection: number;
}

interface Pending {
  envelope: Envelope;
  acked: (ack: Ack) => void;
  /** The connection it was last sent on; undefined while it waits for one. */
  sentOn?: number;
}

/**
 * Slack's side of Socket Mode, on a local WebSocket server (ws): the fake Web API's
 * apps.connections.open hands out its URL; each connection is greeted with `hello`; envelopes go to
 * the open connection and wait for an acknowledgement carrying their envelope_id. As Slack does,
 * envelopes not acknowledged when a connection closes are sent again (retry_attempt + 1) on the next
 * one, and envelopes sent while no connection is open wait for one. `requestReconnect` sends Slack's
 * `disconnect` message (reason refresh_requested); the client is expected to close and reconnect.
 */
export class FakeSocketMode {
  readonly acks: Ack[] = [];
  /** Every envelope sent, with the connection that carried it (redeliveries included). */
  readonly sent: { envelope: Envelope; connection: number }[] = [];
  private server!: WebSocketServer;
  private open: { socket: WebSocket; number: number; draining: boolean } | undefined;
  private connections = 0;
  private readonly pending = new Map<string, Pending>();
  private readonly helloWaiters: { count: number; resolve: () => void }[] = [];

  constructor(private readonly slack: FakeSlack) {}

  async start(): Promise<void> {
    this.server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => this.server.once('listening', () => resolve()));
    const { port } = this.server.address() as AddressInfo;
    this.slack.socketModeUrl = `ws://127.0.0.1:${port}/link/?ticket=fake-ticket&app_id=A0ALLOT`;
    this.server.on('connection', (socket) => this.accept(socket));
  }

  async stop(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Connections greeted so far (a reconnect makes one more). */
  get connectionCount(): number {
    return this.connections;
  }

  /** Resolves once `count` connections have been greeted. */
  waitForConnection(count: number): Promise<void> {
    if (this.connections >= count && this.open && !this.open.draining) return Promise.resolve();
    return new Promise((resolve) => this.helloWaiters.push({ count, resolve }));
  }

  /** Sends an envelope (now, or when a connection is open) and resolves with its acknowledgement. */
  deliver(type: Envelope['type'], payload: Envelope['payload']): Promise<Ack> {
    const envelope: Envelope = {
      envelope_id: randomUUID(),
      type,
      payload,
      accepts_response_payload: type !== 'events_api',
      retry_attempt: 0,
      retry_reason: '',
    };
    return new Promise((acked) => {
      const pending: Pending = { envelope, acked };
      this.pending.set(envelope.envelope_id, pending);
      this.send(pending);
    });
  }

  /**
   * Sends an envelope that was already acknowledged once more, as Slack does when an acknowledgement
   * is lost on the way: same envelope_id and payload, retry_attempt 1. Resolves with the second ack.
   */
  redeliver(envelopeId: string): Promise<Ack> {
    const first = this.sent.find((sent) => sent.envelope.envelope_id === envelopeId);
    if (!first) throw new Error(`no envelope ${envelopeId} was sent`);
    const envelope = { ...first.envelope, retry_attempt: 1, retry_reason: 'timeout' };
    return new Promise((acked) => {
      const pending: Pending = { envelope, acked };
      this.pending.set(envelope.envelope_id, pending);
      this.send(pending);
    });
  }

  /** Slack's `disconnect` message: the open connection is being recycled; new envelopes wait for the next. */
  requestReconnect(): void {
    if (!this.open) throw new Error('no open Socket Mode connection');
    this.open.draining = true;
    this.open.socket.send(
      JSON.stringify({ type: 'disconnect', reason: 'refresh_requested', debug_info: { host: 'fake-socket-mode' } }),
    );
  }

  private accept(socket: WebSocket): void {
    const number = ++this.connections;
    const connection = { socket, number, draining: false };
    socket.on('message', (data) => this.onAck(String(data), number));
    socket.on('close', () => {
      if (this.open === connection) this.open = undefined;
      // What this connection carried and nobody acknowledged goes out again on the next one.
      for (const pending of this.pending.values()) {
        if (pending.sentOn !== number) continue;
        pending.sentOn = undefined;
        pending.envelope = {
          ...pending.envelope,
          retry_attempt: pending.envelope.retry_attempt + 1,
          retry_reason: 'timeout',
        };
      }
    });
    const greeting = {
      type: 'hello',
      num_connections: 1,
      debug_info: { host: 'fake-socket-mode', build_number: 1, approximate_connection_time: 18_060 },
      connection_info: { app_id: 'A0ALLOT' },
    };
    socket.send(JSON.stringify(greeting));
    this.open = connection;
    for (const pending of this.pending.values()) if (pending.sentOn === undefined) this.send(pending);
    for (const waiter of this.helloWaiters.filter((w) => w.count <= number)) {
      this.helloWaiters.splice(this.helloWaiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }

  private send(pending: Pending): void {
    const open = this.open;
    if (!open || open.draining || open.socket.readyState !== open.socket.OPEN) return;
    pending.sentOn = open.number;
    this.sent.push({ envelope: pending.envelope, connection: open.number });
    open.socket.send(JSON.stringify(pending.envelope));
  }

  private onAck(text: string, connection: number): void {
    let message: { envelope_id?: string; payload?: Record<string, unknown> };
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (!message.envelope_id) return;
    const ack: Ack = { envelope_id: message.envelope_id, payload: message.payload, connection };
    this.acks.push(ack);
    const pending = this.pending.get(message.envelope_id);
    if (!pending) return;
    this.pending.delete(message.envelope_id);
    pending.acked(ack);
  }
}
