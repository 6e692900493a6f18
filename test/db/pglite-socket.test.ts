import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database, queryRows } from '../../src/db/client';
import { ReadyForQueryScanner, requestBackupThroughSocket } from '../../src/db/pglite-socket';
import { tempDir } from '../start/spawn';
import { onPostgres } from '../support/db';

// The server's PGlite served on a Unix socket beside in-process work (src/db/pglite-socket.ts). PGlite
// is one session: these tests fail if a client's statements ever run inside another's transaction,
// or if a client that goes away leaves its transaction (or half an exchange) behind. The socket exists
// only on PGlite, so the Postgres run skips them.

const idleLimitMs = 600;

describe.skipIf(onPostgres)('the PGlite socket the CLI uses beside the server', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let db: Database;
  let socketPath: string;
  const problems: string[] = [];
  const clients: postgres.Sql[] = [];

  const client = () => {
    const created = postgres({ path: socketPath, max: 1, prepare: false, onnotice: () => {}, username: 'postgres' });
    clients.push(created);
    return created;
  };
  const rows = async (table: string) =>
    (await queryRows<{ who: string }>(db.orm, sql.raw(`select who from ${table} order by who`))).map((row) => row.who);

  beforeAll(async () => {
    dir = await tempDir('allot-socket-');
    db = await createDatabase({ dataDir: path.join(dir.path, 'data') });
    socketPath = await db.embedded!.serveSocket({
      idleInTransactionMs: idleLimitMs,
      onProblem: (problem) => problems.push(problem),
    });
  });
  afterAll(async () => {
    await Promise.all(clients.map((created) => created.end({ timeout: 1 })));
    await db?.close();
    await dir.remove();
  });

  it("a socket client's acknowledged row survives the server rolling back its own transaction, and the other way round", async () => {
    await db.orm.execute(sql`create table crossed (who text)`);
    const cli = client();
    await cli`select 1`;

    const server = db.orm
      .transaction(async (tx) => {
        await tx.execute(sql`insert into crossed values ('server, rolled back')`);
        await new Promise((resolve) => setTimeout(resolve, 150));
        tx.rollback();
      })
      .catch(() => 'rolled back');
    await new Promise((resolve) => setTimeout(resolve, 30));
    await cli`insert into crossed values ('client, acknowledged')`;
    expect(await server).toBe('rolled back');

    const clientTransaction = cli
      .begin(async (tx) => {
        await tx`insert into crossed values ('client, rolled back')`;
        await new Promise((resolve) => setTimeout(resolve, 150));
        throw new Error('the client changes its mind');
      })
      .catch((error: Error) => error.message);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await db.orm.execute(sql`insert into crossed values ('server, acknowledged')`);
    expect(await clientTransaction).toBe('the client changes its mind');

    expect(await rows('crossed')).toEqual(['client, acknowledged', 'server, acknowledged']);
  });

  it('socket clients and in-process work doing read-then-write transactions at once lose no update', async () => {
    await db.orm.execute(sql`create table counter (n int not null)`);
    await db.orm.execute(sql`insert into counter values (0)`);
    const rounds = 15;
    const viaSocket = [client(), client(), client()].map(async (cli) => {
      for (let round = 0; round < rounds; round++) {
        await cli.begin(async (tx) => {
          const [row] = await tx<{ n: number }[]>`select n from counter`;
          await tx`update counter set n = ${row!.n + 1}`;
        });
      }
    });
    const inProcess = [0, 1].map(async () => {
      for (let round = 0; round < rounds; round++) {
        await db.orm.transaction(async (tx) => {
          const [row] = await queryRows<{ n: number }>(tx, sql`select n from counter`);
          await tx.execute(sql`update counter set n = ${row!.n + 1}`);
        });
      }
    });
    await Promise.all([...viaSocket, ...inProcess]);
    expect(await queryRows(db.orm, sql`select n from counter`)).toEqual([{ n: 5 * rounds }]);
  });

  it('a client that goes away inside a transaction leaves nothing behind; the server waits for it, then goes on', async () => {
    await db.orm.execute(sql`create table dropped (who text)`);
    const cli = client();
    const reserved = await cli.reserve();
    await reserved`begin`;
    await reserved`insert into dropped values ('never committed')`;
    let served = false;
    const serverRead = queryRows(db.orm, sql`select count(*)::int as n from dropped`).then((result) => {
      served = true;
      return result;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(served).toBe(false); // The session is the client's until its transaction ends.
    await cli.end({ timeout: 0 });
    expect(await serverRead).toEqual([{ n: 0 }]);
    expect(db.embedded!.client.isInTransaction()).toBe(false);
  });

  it('an exchange cut off before its Sync, or broken by an error inside a transaction, is rolled back whole', async () => {
    await db.orm.execute(sql`create table cut (who text)`);
    // Parse, Bind and Execute of an INSERT, then the connection drops: PostgreSQL would not commit it.
    const unsynced = await rawSession();
    unsynced.write(Buffer.concat([parse("insert into cut values ('unsynced')"), bind(), execute()]));
    await unsynced.waitForBytes();
    unsynced.socket.destroy();
    // BEGIN, an INSERT, then a failing statement, and the connection drops without ROLLBACK.
    const failed = await rawSession();
    failed.write(simpleQuery("begin; insert into cut values ('failed'); select * from no_such_table"));
    await failed.waitForBytes();
    failed.socket.destroy();
    expect(await rows('cut')).toEqual([]);
    expect(db.embedded!.client.isInTransaction()).toBe(false);
    await db.orm.execute(sql`insert into cut values ('server')`);
    expect(await rows('cut')).toEqual(['server']);
  });

  it('a client holding a transaction without a word past the idle limit is rolled back and dropped', async () => {
    await db.orm.execute(sql`create table idle (who text)`);
    const cli = client();
    const reserved = await cli.reserve();
    await reserved`begin`;
    await reserved`insert into idle values ('left hanging')`;
    const started = Date.now();
    expect(await queryRows(db.orm, sql`select count(*)::int as n from idle`)).toEqual([{ n: 0 }]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(idleLimitMs - 50);
    expect(problems.some((problem) => problem.includes('without a word'))).toBe(true);
    await expect(reserved`select 1`).rejects.toThrow();
  });

  it('a backup asked through the socket is a complete dump, and the session works as before afterwards', async () => {
    await db.orm.execute(sql`create table kept (who text)`);
    await db.orm.execute(sql`insert into kept values ('in the backup')`);
    const dump = await requestBackupThroughSocket(socketPath);
    expect(dump).toContain('-- PostgreSQL database dump complete');
    expect(dump).toMatch(/INSERT INTO public\.kept .*'in the backup'/);
    // pg_dump's read-only snapshot transaction and settings are gone: writes go through.
    await db.orm.execute(sql`insert into kept values ('after the backup')`);
    const [setting] = await queryRows<{ extra_float_digits: string }>(db.orm, sql`show extra_float_digits`);
    expect(setting?.extra_float_digits).toBe('1');
    expect(await rows('kept')).toEqual(['after the backup', 'in the backup']);
  }, 60_000);

  /** A connection speaking the wire protocol by hand, to stop where postgres.js never would. */
  async function rawSession() {
    const socket: Socket = connect(socketPath);
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const waitForBytes = async () => {
      const before = received;
      while (received === before) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, 50));
    };
    socket.write(startup());
    await waitForBytes();
    return { socket, write: (bytes: Buffer) => socket.write(bytes), waitForBytes };
  }
});

it('the ReadyForQuery scanner reads the transaction status however the reply is split', () => {
  const reply = Buffer.concat([
    message('C', Buffer.from('INSERT 0 1\0')),
    message('Z', Buffer.from('T')),
    message('D', Buffer.from([0, 1, 0, 0, 0, 1, 0x5a])), // a row whose last byte looks like 'Z'
    message('C', Buffer.from('SELECT 1\0')),
    message('Z', Buffer.from('I')),
  ]);
  for (let split = 0; split <= reply.length; split++) {
    const scanner = new ReadyForQueryScanner();
    scanner.push(reply.subarray(0, split));
    scanner.push(reply.subarray(split));
    expect(scanner.status, `split at ${split}`).toBe(0x49);
  }
  const oneByOne = new ReadyForQueryScanner();
  for (const byte of reply.subarray(0, reply.length - 21)) oneByOne.push(Buffer.from([byte]));
  expect(oneByOne.status).toBe(0x54); // 'T': the last ReadyForQuery so far.
});

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([header, body]);
}

function startup(): Buffer {
  const body = Buffer.from('user\0postgres\0database\0postgres\0\0');
  const packet = Buffer.alloc(8 + body.length);
  packet.writeInt32BE(packet.length, 0);
  packet.writeInt32BE(196608, 4);
  body.copy(packet, 8);
  return packet;
}

const parse = (text: string) => message('P', Buffer.concat([Buffer.from(`\0${text}\0`), Buffer.from([0, 0])]));
const bind = () => message('B', Buffer.from([0, 0, 0, 0, 0, 0, 0, 0]));
const execute = () => message('E', Buffer.from([0, 0, 0, 0, 0]));
const simpleQuery = (text: string) => message('Q', Buffer.from(`${text}\0`));
