import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { pgliteMemoryOptions } from './pglite-settings';

// A new PGlite data folder is made by initdb, which PGlite runs in two extra WebAssembly instances: the
// slowest part of a first start (about 20 s on the project machine) and most of its peak memory (about
// 700 MB resident). `npm run build` runs initdb once and keeps the result, an empty cluster with Allot's
// settings, as dist/pglite-templates/<PGlite version>.tar.gz; a new folder is then unpacked from it
// (PGlite's loadDataDir) in a few seconds and a third of the memory. Without a template for the
// installed PGlite, a new folder is made by initdb as before.

/** The installed PGlite's version, read from its package.json (which its exports do not expose). */
export function pgliteVersion(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  let folder = path.dirname(entry);
  while (!existsSync(path.join(folder, 'package.json'))) folder = path.dirname(folder);
  return (JSON.parse(readFileSync(path.join(folder, 'package.json'), 'utf8')) as { version: string }).version;
}

/** dist/pglite-templates/<version>.tar.gz above this module (src/db or dist/), if it was built. */
export function pgliteTemplatePath(version = pgliteVersion()): string | undefined {
  for (let folder = path.dirname(fileURLToPath(import.meta.url)); ; folder = path.dirname(folder)) {
    const candidate = path.join(folder, 'dist', 'pglite-templates', `${version}.tar.gz`);
    if (existsSync(candidate)) return candidate;
    if (path.dirname(folder) === folder) return undefined;
  }
}

/** The template as PGlite's loadDataDir takes it, or undefined when there is none for this PGlite. */
export async function readPgliteTemplate(): Promise<Blob | undefined> {
  const file = pgliteTemplatePath();
  return file ? new Blob([await readFile(file)]) : undefined;
}

/** Runs initdb with Allot's settings in a scratch folder and writes the cluster to `file` (gzip tarball). */
export async function writePgliteTemplate(file: string): Promise<void> {
  const scratch = path.join(tmpdir(), `allot-pglite-template-${process.pid}`);
  await rm(scratch, { recursive: true, force: true });
  try {
    const db = await PGlite.create(scratch, pgliteMemoryOptions);
    const dump = await db.dumpDataDir('gzip');
    await db.close();
    await mkdir(path.dirname(file), { recursive: true });
    const partial = `${file}.partial-${process.pid}`;
    await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
    await rename(partial, file);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
