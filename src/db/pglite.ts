import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { openDataDir } from './data-dir';
import { type Database, type DatabaseLocation, type EmbeddedPglite, type Orm, pingOrm } from './database';
import { pgliteOptions } from './pglite-settings';
import { type PgliteSocketServer, pgliteSocketPath, servePgliteSocket } from './pglite-socket';
import { readPgliteTemplate } from './pglite-template';
import { SessionGate } from './session-gate';

/**
 * The PGlite client drizzle sees: each query and each transaction first takes the session gate, so
 * in-process work never runs inside a socket client's transaction, nor lets one into its own. Drizzle
 * calls only `query` and `transaction` on its client; statements inside a transaction go to PGlite's
 * transaction object, under the gate the transaction already holds.
 */
function gatedClient(client: PGlite, gate: SessionGate): PGlite {
  const gated = {
    query: (...args: Parameters<PGlite['query']>) => gate.run(() => client.query(...args)),
    exec: (...args: Parameters<PGlite['exec']>) => gate.run(() => client.exec(...args)),
    transaction: <T>(callback: Parameters<PGlite['transaction']>[0]) =>
      gate.run(() => client.transaction(callback) as Promise<T>),
  };
  return gated as unknown as PGlite;
}

/**
 * PGlite serves one process. With a folder, a lock file stops a second process from opening it
 * (two writers silently lose rows) and a first initialisation happens in a scratch folder that is
 * renamed into place only once complete, so a start killed half-way leaves nothing behind. Other
 * processes (the CLI) reach the same session through `embedded.serveSocket`, which the server calls
 * once its migrations are applied.
 */
export async function createPgliteDatabase(dataDir?: string, memory: { template?: Blob } = {}): Promise<Database> {
  let release = async () => {};
  let client: PGlite;
  let location: DatabaseLocation = { kind: 'pglite-memory' };
  const gate = new SessionGate();
  let socket: PgliteSocketServer | undefined;
  if (dataDir) {
    const opened = await openDataDir(dataDir);
    release = opened.release;
    location = { kind: 'pglite-folder', dataDir, created: opened.created };
    try {
      client = await PGlite.create(opened.pgdataPath, pgliteOptions);
    } catch (error) {
      await release();
      throw error;
    }
  } else {
    // In memory (tests): unpacked from the template given (the tests' migrated one), else the build's
    // template when there is one, as a new folder is.
    const template = memory.template ?? (await readPgliteTemplate());
    client = await PGlite.create(template ? { ...pgliteOptions, loadDataDir: template } : pgliteOptions);
  }
  const orm = drizzle({ client: gatedClient(client, gate), casing: 'snake_case' }) as unknown as Orm;
  const embedded: EmbeddedPglite = {
    client,
    gate,
    async serveSocket(options = {}) {
      if (!dataDir) throw new Error('an in-memory PGlite has no folder to serve a socket from');
      socket ??= await servePgliteSocket({
        client,
        gate,
        socketPath: pgliteSocketPath(dataDir),
        backup: async () => (await import('./backup')).dumpEmbeddedPglite(embedded),
        ...options,
      });
      return socket.socketPath;
    },
  };
  return {
    kind: 'pglite',
    orm,
    location,
    embedded,
    ping: () => pingOrm(orm),
    async close() {
      try {
        await socket?.close();
        await gate.run(() => client.close());
      } finally {
        await release();
      }
    },
  };
}
