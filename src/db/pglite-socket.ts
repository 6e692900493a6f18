import { chmod, unlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { SessionGate } from './session-gate';

// The running server, on PGlite, serves its one database to the `allot` CLI over the PostgreSQL wire
// protocol on a Unix socket inside DATA_DIR. The CLI then talks to it with postgres.js exactly as it
// talks to PostgreSQL, each verb in its own transaction, and never opens the folder itself: one
// process, the server, ever writes to it.
//
// This is pglite-socket's design (electric-sql/pglite, packages/pglite-socket) with one part
// replaced. Its query queue runs each client message under PGlite's query lock only, which PGlite's
// own transaction() releases between statements; and it lets one client's messages in between
// another's Parse and Sync. Measured with pglite-socket 0.2.17 and PGlite 0.5.16: a socket client's
// acknowledged INSERT vanished with the server's rolled-back transaction, and the server's
// acknowledged INSERT vanished with the client's. Here every client holds the SessionGate from the
// first message of an exchange until a ReadyForQuery reports the session idle ('I'), and in-process
// work takes the same gate, so exchanges never interleave.

/** The PostgreSQL convention for a server's socket, so `psql -h <DATA_DIR>` finds it as well. */
export const pgliteSocketName = '.s.PGSQL.5432';

export function pgliteSocketPath(dataDir: string): string {
  return path.join(dataDir, pgliteSocketName);
}

/** Longest path a Unix socket may have (sun_path is 108 bytes on Linux, 104 on macOS). */
export const socketPathLengthMax = 103;

/** Largest frontend message accepted; the CLI's largest (a batch of 1000 usage events) is far below. */
export const socketMessageBytesMax = 64 * 1024 * 1024;

/**
 * How long a client may hold the session without sending anything (inside a transaction, or between
 * the messages of one exchange) before it is rolled back and disconnected, so a suspended CLI cannot
 * stall the bot. Like PostgreSQL's idle_in_transaction_session_timeout.
 */
export const socketIdleInTransactionMsDefault = 15_000;

const sslRequestCode = 80877103; // 1234/5679
const gssEncRequestCode = 80877104; // 1234/5680
const cancelRequestCode = 80877102; // 1234/5678
const protocolVersion3 = 196608;
/**
 * Allot's own request, shaped like PostgreSQL's special requests above (a length of 8 and a code in
 * place of a protocol version; PostgreSQL itself refuses it): "send me a backup". The answer is 'D',
 * the dump's length (8 bytes) and the dump, or 'E' and a message; then the server hangs up.
 */
export const backupRequestCode = (1234 << 16) | 7711;
const readyForQuery = 0x5a; // 'Z'
const terminate = 0x58; // 'X'
const idle = 0x49; // 'I'

/**
 * Follows the backend's reply, message by message across chunks, and keeps the transaction status of
 * the last ReadyForQuery ('I' idle, 'T' in a transaction, 'E' in a failed one).
 */
export class ReadyForQueryScanner {
  #header = Buffer.alloc(0);
  #bodyLeft = 0;
  #inReady = false;
  /** Status byte of the last ReadyForQuery seen, or undefined if none since `reset`. */
  status: number | undefined;

  reset(): void {
    this.status = undefined;
  }

  push(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#bodyLeft > 0) {
        const take = Math.min(this.#bodyLeft, chunk.length - offset);
        if (this.#inReady) this.status = chunk[offset];
        this.#inReady = false;
        this.#bodyLeft -= take;
        offset += take;
        continue;
      }
      const need = 5 - this.#header.length;
      const take = Math.min(need, chunk.length - offset);
      this.#header = Buffer.concat([this.#header, chunk.subarray(offset, offset + take)]);
      offset += take;
      if (this.#header.length < 5) break;
      this.#inReady = this.#header[0] === readyForQuery;
      this.#bodyLeft = this.#header.readInt32BE(1) - 4;
      this.#header = Buffer.alloc(0);
    }
  }
}

export interface PgliteSocketServer {
  readonly socketPath: string;
  /** Stops accepting clients, rolls back and disconnects those connected, and removes the socket. */
  close(): Promise<void>;
}

export interface ServePgliteSocketOptions {
  client: PGlite;
  gate: SessionGate;
  socketPath: string;
  idleInTransactionMs?: number;
  /** Told about clients dropped for a reason worth logging (idle, oversized, protocol errors). */
  onProblem?: (problem: string) => void;
  /** Makes the dump a backup request asks for (see backup.ts); without it such requests are refused. */
  backup?: () => Promise<string>;
}

/**
 * Listens on `socketPath` (owner-only: 0600, inside the owner-only DATA_DIR) and serves PGlite to
 * each client. A socket left by a process that died is replaced: the caller holds DATA_DIR's lock.
 */
export async function servePgliteSocket(options: ServePgliteSocketOptions): Promise<PgliteSocketServer> {
  if (Buffer.byteLength(options.socketPath) > socketPathLengthMax) {
    throw new Error(
      `the socket path ${options.socketPath} is longer than ${socketPathLengthMax} bytes; choose a shorter DATA_DIR`,
    );
  }
  await unlink(options.socketPath).catch(() => {});
  const sessions = new Set<ClientSession>();
  const server: Server = createServer((socket) => {
    const session = new ClientSession(socket, options, () => sessions.delete(session));
    sessions.add(session);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(options.socketPath, 0o600);
  let closing: Promise<void> | undefined;
  return {
    socketPath: options.socketPath,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all([...sessions].map((session) => session.end()));
        await closed;
        await unlink(options.socketPath).catch(() => {});
      })();
      return closing;
    },
  };
}

/** One connected client: its framing, its hold on the session, and its clean-up. */
class ClientSession {
  #buffer = Buffer.alloc(0);
  #started = false;
  #release: (() => void) | undefined;
  #queue: Promise<void> = Promise.resolve();
  #ended: Promise<void> | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  readonly #scanner = new ReadyForQueryScanner();

  constructor(
    readonly socket: Socket,
    readonly options: ServePgliteSocketOptions,
    readonly forget: () => void,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#enqueue(() => this.#drain());
    });
    socket.on('error', () => {});
    socket.on('close', () => void this.end());
  }

  #enqueue(work: () => Promise<void>): void {
    this.#queue = this.#queue.then(work).catch((error) => {
      this.options.onProblem?.(`socket client dropped: ${(error as Error).message}`);
      void this.end();
    });
  }

  /** Handles every complete message in the buffer, in order. */
  async #drain(): Promise<void> {
    while (!this.#ended) {
      if (!this.#started) {
        if (this.#buffer.length < 8) return;
        const length = this.#buffer.readInt32BE(0);
        const code = this.#buffer.readInt32BE(4);
        if (length < 8 || length > socketMessageBytesMax) throw new Error(`bad startup packet length ${length}`);
        if (this.#buffer.length < length) return;
        const packet = this.#take(length);
        if (code === sslRequestCode || code === gssEncRequestCode) {
          this.socket.write('N'); // No encryption on a local socket; the client goes on in the clear.
        } else if (code === cancelRequestCode) {
          void this.end(); // Nothing to cancel: statements here are short and run one at a time.
          return;
        } else if (code === backupRequestCode) {
          await this.#answerBackup();
          void this.end();
          return;
        } else if (code === protocolVersion3) {
          await this.#forward(packet);
          this.#started = true;
        } else {
          throw new Error(`unsupported protocol ${code}`);
        }
        continue;
      }
      if (this.#buffer.length < 5) return;
      const length = this.#buffer.readInt32BE(1);
      if (length < 4 || length > socketMessageBytesMax) throw new Error(`bad message length ${length}`);
      if (this.#buffer.length < length + 1) return;
      const message = this.#take(length + 1);
      if (message[0] === terminate) {
        void this.end(); // It waits for this drain to return, then cleans up.
        return;
      }
      await this.#forward(message);
    }
  }

  async #answerBackup(): Promise<void> {
    let answer: Buffer;
    try {
      if (!this.options.backup) throw new Error('this server makes no backups');
      const dump = Buffer.from(await this.options.backup(), 'utf8');
      const header = Buffer.alloc(9);
      header[0] = 0x44; // 'D'
      header.writeBigUInt64BE(BigInt(dump.length), 1);
      answer = Buffer.concat([header, dump]);
    } catch (error) {
      this.options.onProblem?.(`backup through the socket failed: ${(error as Error).message}`);
      answer = Buffer.concat([Buffer.from('E'), Buffer.from((error as Error).message, 'utf8')]);
    }
    await new Promise<void>((resolve) => this.socket.end(answer, () => resolve()));
  }

  #take(bytes: number): Buffer {
    const taken = this.#buffer.subarray(0, bytes);
    this.#buffer = this.#buffer.subarray(bytes);
    return taken;
  }

  /** Runs one message on PGlite while holding the session, until a ReadyForQuery finds it idle. */
  async #forward(message: Uint8Array): Promise<void> {
    this.#stopIdleTimer();
    this.#release ??= await this.options.gate.acquire();
    if (this.#ended) return; // Closed while waiting: end() hands the session back.
    const { client } = this.options;
    this.#scanner.reset();
    await client.runExclusive(() =>
      client.execProtocolRawStream(message, {
        onRawData: (data) => {
          this.#scanner.push(data);
          if (!this.socket.destroyed) this.socket.write(data);
        },
      }),
    );
    if (this.#scanner.status === idle) {
      this.#release();
      this.#release = undefined;
    } else if (!this.#ended) {
      this.#startIdleTimer();
    }
  }

  #startIdleTimer(): void {
    const ms = this.options.idleInTransactionMs ?? socketIdleInTransactionMsDefault;
    this.#idleTimer = setTimeout(() => {
      this.options.onProblem?.(`socket client held the database ${ms} ms without a word: rolled back and dropped`);
      void this.end();
    }, ms);
    this.#idleTimer.unref();
  }

  #stopIdleTimer(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  /**
   * Disconnects the client. If it still holds the session (a transaction or an exchange left open),
   * everything it started is rolled back first, as PostgreSQL does when a connection drops. Never
   * awaited from inside the message queue, which it waits for.
   */
  end(): Promise<void> {
    this.#ended ??= (async () => {
      this.#stopIdleTimer();
      this.socket.destroy();
      // Wait for a message in progress to finish with the session before cleaning it.
      await this.#queue.catch(() => {});
      if (this.#release) {
        try {
          await rollBackSession(this.options.client);
        } catch (error) {
          this.options.onProblem?.(`could not roll back a departed socket client: ${(error as Error).message}`);
        } finally {
          this.#release();
          this.#release = undefined;
        }
      }
      this.forget();
    })();
    return this.#ended;
  }
}

/**
 * Leaves PGlite's session idle whatever a client left it in: an explicit transaction, a pipeline
 * without its Sync, or one that failed and waits for Sync. ROLLBACK as a simple query ends the first
 * two (an unsynced statement is aborted, not committed); after an error the backend skips it, and the
 * Sync that follows closes the failed exchange; a second ROLLBACK ends a failed explicit transaction.
 */
export async function rollBackSession(client: PGlite): Promise<void> {
  const scanner = new ReadyForQueryScanner();
  const run = (message: Uint8Array) =>
    client.runExclusive(() => client.execProtocolRawStream(message, { onRawData: (data) => scanner.push(data) }));
  await run(simpleQuery('ROLLBACK'));
  await run(syncMessage);
  if (scanner.status !== idle) await run(simpleQuery('ROLLBACK'));
  if (scanner.status !== idle) throw new Error('could not bring the PGlite session back to idle');
}

const syncMessage = Uint8Array.from([0x53, 0, 0, 0, 4]);

function simpleQuery(text: string): Uint8Array {
  const body = Buffer.from(`${text}\0`, 'utf8');
  const message = Buffer.alloc(5 + body.length);
  message[0] = 0x51; // 'Q'
  message.writeInt32BE(4 + body.length, 1);
  body.copy(message, 5);
  return message;
}

/**
 * Asks the server listening on `socketPath` for a backup (see backupRequestCode) and returns the dump.
 * Throws with the server's message when it could not make one, or when the answer arrives cut short.
 */
export async function requestBackupThroughSocket(socketPath: string): Promise<string> {
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const socket = connect(socketPath);
    const request = Buffer.alloc(8);
    request.writeInt32BE(8, 0);
    request.writeInt32BE(backupRequestCode, 4);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
  const answer = Buffer.concat(chunks);
  if (answer[0] === 0x45) throw new Error(answer.subarray(1).toString('utf8') || 'the server could not make a backup');
  if (answer[0] !== 0x44 || answer.length < 9) throw new Error('the server sent no backup');
  const length = answer.readBigUInt64BE(1);
  if (BigInt(answer.length - 9) !== length) throw new Error('the backup arrived incomplete');
  return answer.subarray(9).toString('utf8');
}
