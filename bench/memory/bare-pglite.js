// Bare PGlite, the reference of `npm run bench:memory`: a Node process that only opens (or creates) a
// PGlite data folder and answers one query, then reports its resident memory as JSON on stdout.
//
//   node bench/memory/bare-pglite.js open|create <folder> [--shared-buffers 16MB]
//   node bench/memory/bare-pglite.js unpack <folder> --template dist/pglite-templates/<version>.tar.gz
//
// peakMb is VmHWM (the most resident memory the process ever had), idleMb VmRSS 3 s after the query.
// Without --shared-buffers PGlite runs with its own defaults (initdb writes shared_buffers = 128MB);
// unpack makes the folder from a tarball (loadDataDir) instead of running initdb.

import { existsSync, readFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';

function memory() {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

const [mode, folder, ...flags] = process.argv.slice(2);
const flag = (name) => {
  const at = flags.indexOf(name);
  return at === -1 ? undefined : flags[at + 1];
};
const sharedBuffers = flag('--shared-buffers');
const template = flag('--template');
if (!['open', 'create', 'unpack'].includes(mode ?? '') || !folder || (mode === 'unpack' && !template)) {
  console.error(
    'usage: node bench/memory/bare-pglite.js open|create <folder> [--shared-buffers 16MB] | unpack <folder> --template <file>',
  );
  process.exit(2);
}
if (mode === 'open' && !existsSync(`${folder}/PG_VERSION`)) {
  console.error(`${folder} is not a PGlite data folder`);
  process.exit(2);
}
if (mode !== 'open' && existsSync(folder)) {
  console.error(`${folder} exists already`);
  process.exit(2);
}
const options = {
  ...(sharedBuffers
    ? {
        startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${sharedBuffers}`],
        initDbStartParams: ['--set', `shared_buffers=${sharedBuffers}`],
      }
    : {}),
  ...(template ? { loadDataDir: new Blob([readFileSync(template)]) } : {}),
};
const started = performance.now();
const db = await PGlite.create(folder, options);
await db.query('select 1');
const readyMs = performance.now() - started;
await new Promise((resolve) => setTimeout(resolve, 3_000));
const { rssMb, peakMb } = memory();
await db.close();
console.log(JSON.stringify({ mode, readyMs, idleMb: rssMb, peakMb }));
