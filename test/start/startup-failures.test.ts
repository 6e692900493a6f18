import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/db/client';
import { applyMigrations, migrationsFolder } from '../../src/db/migrate';
import { createTestDatabase, onPostgres, type TestDatabase } from '../support/db';
import { freePort, killAll, runCli, spawnNpmStart, tempDir, withTimeout } from './spawn';

// Each way a start can fail, through the real processes: `npm start` (the compiled server) and the
// `allot` CLI. Each prints exactly one line on stderr, saying what failed and what to do, and exits 1
// when something around Allot must change, 2 when a setting must.

type Outcome = { code: number | null; stderr: string };

const entries: [string, (env: Record<string, string | undefined>) => Promise<Outcome>][] = [
  [
    '`npm start`',
    async (env) => {
      const server = spawnNpmStart({ LOG_LEVEL: 'warn', ...env });
      const { code } = await withTimeout(server.exited, 60_000, 'npm start to fail');
      return { code, stderr: server.stderr() };
    },
  ],
  ['the allot CLI', (env) => runCli(['org', 'list'], env)],
];

/** The one line on stderr (the test fails if there are more, or none). */
function oneLine(outcome: Outcome): string {
  const lines = outcome.stderr.split('\n').filter((line) => line.trim().length > 0);
  expect(lines, outcome.stderr).toHaveLength(1);
  return lines[0]!;
}

/** A TCP server that accepts connections and never says a word, as a wedged host or a black hole would. */
async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Forgets every applied migration, so the next start re-runs the baseline over the existing tables. */
async function forgetMigrations(orm: Parameters<typeof applyMigrations>[0]['orm']): Promise<void> {
  await orm.execute(sql`delete from drizzle.__drizzle_migrations`);
}

const firstMigration = (
  JSON.parse(readFileSync(path.join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as {
    entries: { tag: string }[];
  }
).entries[0]!.tag;

let dir: Awaited<ReturnType<typeof tempDir>>;
let silent: Awaited<ReturnType<typeof silentServer>>;
/** A migrated PGlite folder, and one whose migrations table was emptied (its baseline then fails). */
let healthyDataDir: string;
let brokenDataDir: string;

beforeAll(async () => {
  dir = await tempDir('allot-startup-');
  silent = await silentServer();
  healthyDataDir = path.join(dir.path, 'healthy');
  brokenDataDir = path.join(dir.path, 'broken');
  const healthy = await createDatabase({ dataDir: healthyDataDir });
  await applyMigrations(healthy);
  await healthy.close();
  await cp(healthyDataDir, brokenDataDir, { recursive: true });
  const broken = await createDatabase({ dataDir: brokenDataDir });
  await forgetMigrations(broken.orm);
  await broken.close();
}, 120_000);
afterAll(async () => {
  killAll();
  await silent?.close();
  await dir?.remove();
});

describe.each(entries)('%s cannot start', (_name, start) => {
  it('PostgreSQL refuses the connection: one line naming the host and port, asking whether it runs; exit 1', async () => {
    const port = await freePort();
    const outcome = await start({ DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/allot` });
    expect(outcome.code).toBe(1);
    expect(oneLine(outcome)).toBe(
      `Cannot connect to PostgreSQL at 127.0.0.1:${port}: connection refused. ` +
        'Is PostgreSQL running, and are the host and port in DATABASE_URL right?',
    );
  });

  it('PostgreSQL does not answer in time: one line naming the host and port, asking whether it runs; exit 1', async () => {
    const outcome = await start({
      DATABASE_URL: `postgres://postgres@127.0.0.1:${silent.port}/allot?connect_timeout=2`,
    });
    expect(outcome.code).toBe(1);
    expect(oneLine(outcome)).toBe(
      `Cannot connect to PostgreSQL at 127.0.0.1:${silent.port}: no answer (connection timed out). ` +
        'Is PostgreSQL running, and can this machine reach that host and port (firewall, DATABASE_URL)?',
    );
  });

  it('a migration fails on PGlite: one line naming the migration and the database error; exit 1', async () => {
    const outcome = await start({ DATA_DIR: brokenDataDir });
    expect(outcome.code).toBe(1);
    expect(oneLine(outcome)).toMatch(
      new RegExp(
        `^Migration ${firstMigration} failed: relation "\\w+" already exists \\(42P07\\)\\. Nothing of it was applied .* then start again\\.$`,
      ),
    );
  });

  describe.runIf(onPostgres)('on the PostgreSQL server', () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase({ poolMax: 1 });
      await forgetMigrations(database.db.orm);
    });
    afterAll(async () => database?.close());

    it('the database does not exist: one line saying to run createdb with its name; exit 1', async () => {
      const name = `allot_missing_${randomBytes(4).toString('hex')}`;
      const url = new URL(process.env.DATABASE_URL!);
      url.pathname = `/${name}`;
      const outcome = await start({ DATABASE_URL: url.toString() });
      expect(outcome.code).toBe(1);
      expect(oneLine(outcome)).toBe(
        `The database "${name}" does not exist on the PostgreSQL server at ${url.hostname}:${url.port || '5432'}. ` +
          `Create it with: createdb ${name} (or correct the name in DATABASE_URL).`,
      );
    });

    it('the login is refused: one line saying to correct DATABASE_URL; exit 2 (a setting)', async () => {
      const url = new URL(process.env.DATABASE_URL!);
      url.username = `allot_no_such_role_${randomBytes(3).toString('hex')}`;
      const outcome = await start({ DATABASE_URL: url.toString() });
      expect(outcome.code).toBe(2);
      expect(oneLine(outcome)).toMatch(
        /^PostgreSQL at .* refused the login: .*\. Correct the user name or password in DATABASE_URL/,
      );
    });

    it('a migration fails: one line naming the migration; exit 1', async () => {
      const outcome = await start({ DATABASE_URL: database.url });
      expect(outcome.code).toBe(1);
      expect(oneLine(outcome)).toMatch(
        new RegExp(`^Migration ${firstMigration} failed: relation "\\w+" already exists \\(42P07\\)\\. `),
      );
    });
  });
});

describe('`npm start` cannot listen', () => {
  it('the port is taken: one line naming the port and PORT=, exit 1, and DATA_DIR is released', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '0.0.0.0', resolve));
    const address = taken.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const server = spawnNpmStart({ DATA_DIR: healthyDataDir, PORT: String(port), LOG_LEVEL: 'warn' });
      const { code } = await withTimeout(server.exited, 60_000, 'npm start to fail');
      expect(code).toBe(1);
      expect(oneLine({ code, stderr: server.stderr() })).toMatch(
        new RegExp(
          `^Port ${port} is already in use on 0\\.0\\.0\\.0 \\(another Allot, or another program\\)\\. .*PORT=\\d+ npm start$`,
        ),
      );
      // The folder was released: the CLI opens it at once.
      const cli = await runCli(['org', 'list'], { DATA_DIR: healthyDataDir });
      expect(cli.code).toBe(0);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('HOST is not an address of this machine: one line saying what HOST may be; exit 2 (a setting)', async () => {
    const server = spawnNpmStart({ DATA_DIR: healthyDataDir, HOST: '192.0.2.254', PORT: '0', LOG_LEVEL: 'warn' });
    const { code } = await withTimeout(server.exited, 60_000, 'npm start to fail');
    expect(code).toBe(2);
    expect(oneLine({ code, stderr: server.stderr() })).toMatch(/^Cannot listen on HOST=192\.0\.2\.254: /);
  });
});

it('the CLI with a bad setting says so in one line per problem and exits 2, as `npm start` does', async () => {
  const outcome = await runCli(['org', 'list'], { DATA_DIR: healthyDataDir, PORT: 'eighty' });
  expect(outcome.code).toBe(2);
  expect(oneLine(outcome)).toMatch(/^config: PORT: /);
});
