import { PGlite, type PGliteOptions } from '@electric-sql/pglite';

/**
 * PostgreSQL's buffer pool inside PGlite. PGlite touches the whole pool when it starts, and its default
 * (128 MB, what initdb writes) was most of the resident memory of an embedded Allot. PGlite reads its
 * files through Node and so through the operating system's page cache, so a smaller pool costs little:
 * 16 MB (2,048 pages) holds the hot part of a small organisation's ledger (bench/README.md, memory).
 */
export const pgliteSharedBuffers = '16MB';

/**
 * Options every PGlite instance of Allot starts with: PGlite's own start parameters plus the buffer
 * pool above, and the same pool for initdb, so a new folder's postgresql.conf agrees with it.
 */
export const pgliteMemoryOptions: Pick<PGliteOptions, 'startParams' | 'initDbStartParams'> = {
  startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${pgliteSharedBuffers}`],
  initDbStartParams: ['--set', `shared_buffers=${pgliteSharedBuffers}`],
};

// PGlite parses int8 into a JS number, which loses precision above 2^53; keep it as text, as
// postgres.js does, and let the repositories turn it into bigint.
const int8Oid = 20;
export const pgliteOptions = { ...pgliteMemoryOptions, parsers: { [int8Oid]: (value: string) => value } };
