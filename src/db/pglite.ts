import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { type Database, type Orm, pingOrm } from './client';
import { openDataDir } from './data-dir';
import { pgliteMemoryOptions } from './pglite-settings';
import { readPgliteTemplate } from './pglite-template';
import * as schema from './schema';

// PGlite parses int8 into a JS number, which loses precision above 2^53; keep it as text, as
// postgres.js does, and let the repositories turn it into bigint.
const int8Oid = 20;
const pgliteOptions = { ...pgliteMemoryOptions, parsers: { [int8Oid]: (value: string) => value } };

/**
 * PGlite serves one process. With a folder, a lock file stops a second process from opening it
 * (two writers silently lose rows) and a first initialisation happens in a scratch folder that is
 * renamed into place only once complete, so a start killed half-way leaves nothing behind.
 */
export async function createPgliteDatabase(dataDir?: string): Promise<Database> {
  let release = async () => {};
  let client: PGlite;
  if (dataDir) {
    const opened = await openDataDir(dataDir);
    release = opened.release;
    try {
      client = await PGlite.create(opened.pgdataPath, pgliteOptions);
    } catch (error) {
      await release();
      throw error;
    }
  } else {
    // In memory (tests): unpacked from the build's template when there is one, as a new folder is.
    const template = await readPgliteTemplate();
    client = await PGlite.create(template ? { ...pgliteOptions, loadDataDir: template } : pgliteOptions);
  }
  const orm = drizzle({ client, schema, casing: 'snake_case' }) as unknown as Orm;
  return {
    kind: 'pglite',
    orm,
    ping: () => pingOrm(orm),
    async close() {
      try {
        await client.close();
      } finally {
        await release();
      }
    },
  };
}
