// Bare PGlite, the reference of `npm run bench:memory`: a Node process that only opens (or creates) a
// PGlite data folder and answers one query, then reports its resident memory as JSON on stdout.
//
//   node bench/memory/bare-pglite.js open|create <folder> [--shared-buffers 16MB]
//
// peakMb is VmHWM (the most resident memory the process ever had), idleMb VmRSS 3 s after the query.
// Without --shared-buffers PGlite runs with its own defaults (initdb writes shared_buffers = 128MB).

import { existsSync, readFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';

function memory() {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

const [mode, folder, flag, sharedBuffers] = process.argv.slice(2);
if (!['open', 'create'].includes(mode ?? '') || !folder || (flag && flag !== '--shared-buffers')) {
  console.error('usage: node bench/memory/bare-pglite.js open|create <folder> [--shared-buffers 16MB]');
  process.exit(2);
}
if (mode === 'open' && !existsSync(`${folder}/PG_VERSION`)) {
  console.error(`${folder} is not a PGlite data folder`);
  process.exit(2);
}
if (mode === 'create' && existsSync(folder)) {
  console.error(`${folder} exists already`);
  process.exit(2);
}
const options = sharedBuffers
  ? {
      startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${sharedBuffers}`],
      initDbStartParams: ['--set', `shared_buffers=${sharedBuffers}`],
    }
  : {};
const started = performance.now();
const db = await PGlite.create(folder, options);
await db.query('select 1');
const readyMs = performance.now() - started;
await new Promise((resolve) => setTimeout(resolve, 3_000));
const { rssMb, peakMb } = memory();
await db.close();
console.log(JSON.stringify({ mode, readyMs, idleMb: rssMb, peakMb }));
