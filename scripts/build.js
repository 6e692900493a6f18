#!/usr/bin/env node
// `npm run build` compiles the TypeScript under src/ into plain JavaScript under dist/ (dist/main.js for
// the server, dist/cli/main.js for the `allot` CLI). `node scripts/build.js --if-stale` (what `npm start`
// runs first) builds only when dist/ was not built from the sources as they are now.
//
// Why esbuild: the sources import each other without extensions under moduleResolution "Bundler", which
// tsc's own output would keep (and Node's ESM loader refuses); a bundler resolves them. esbuild is the
// compiler tsx already runs the sources through, so dev, tests and the build read TypeScript the same way,
// and it builds Allot in about a second. Type checking stays with `npm run typecheck` (tsc).
//
// Dependencies are not bundled (`packages: 'external'`): dist/ imports them from node_modules exactly as
// the sources do, so PGlite finds its WebAssembly and data files where it expects them. Code splitting
// keeps the lazily imported parts (Slack's Bolt, Teams' botbuilder, the Postgres driver) out of memory
// until a configuration turns them on.
//
// The build also makes dist/pglite-templates/<PGlite version>.tar.gz, an empty PGlite cluster from which
// new data folders are unpacked instead of running initdb (src/db/pglite-template.ts); it is made once per
// PGlite version (about 20 s) and kept by later builds.
//
// dist/ holds a hash of every input (dist/.source-hash): it is current when that hash matches. A build
// goes to a scratch folder that replaces dist/ only once complete, so a failed or interrupted build never
// leaves a half-written dist/.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root (where package.json is). */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const distDir = path.join(root, 'dist');
const hashFile = '.source-hash';

/** The installed PGlite's version: the build's PGlite template is made by it and for it. */
export function pgliteVersion() {
  return JSON.parse(readFileSync(path.join(root, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')).version;
}

/** Every file the build reads, relative to the root and sorted: src/**, this script, tsconfig, package.json. */
function inputs() {
  const sources = readdirSync(path.join(root, 'src'), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(root, path.join(entry.parentPath ?? entry.path, entry.name)));
  return [...sources, 'scripts/build.js', 'tsconfig.json', 'package.json'].sort();
}

/** SHA-256 over the inputs' names and contents (about 1 MB, a few milliseconds). */
export function sourceHash() {
  const hash = createHash('sha256');
  hash.update(`pglite ${pgliteVersion()}\0`);
  for (const file of inputs()) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(path.join(root, file)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** True when dist/ was built from the sources as they are now. */
export function distIsCurrent() {
  try {
    return readFileSync(path.join(distDir, hashFile), 'utf8').trim() === sourceHash();
  } catch {
    return false;
  }
}

/** Compiles src/ into dist/ and returns the hash it was built from. */
export async function build() {
  const { build: esbuild } = await import('esbuild');
  const hash = sourceHash();
  const scratch = path.join(root, `.dist-build-${process.pid}`);
  rmSync(scratch, { recursive: true, force: true });
  try {
    await esbuild({
      absWorkingDir: root,
      entryPoints: {
        main: 'src/main.ts',
        'cli/main': 'src/cli/main.ts',
        'pglite-template': 'src/db/pglite-template.main.ts',
      },
      outdir: scratch,
      chunkNames: 'chunks/[name]-[hash]',
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      sourcemap: 'linked',
      tsconfig: path.join(root, 'tsconfig.json'),
      logLevel: 'warning',
    });
    // An empty PGlite cluster for new data folders (src/db/pglite-template.ts): kept from the previous
    // build when PGlite is the same version, else made by running initdb once, in a process of its own.
    const template = path.join('pglite-templates', `${pgliteVersion()}.tar.gz`);
    mkdirSync(path.join(scratch, 'pglite-templates'), { recursive: true });
    if (existsSync(path.join(distDir, template))) {
      copyFileSync(path.join(distDir, template), path.join(scratch, template));
    } else {
      execFileSync(process.execPath, [path.join(scratch, 'pglite-template.js'), path.join(scratch, template)], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      if (!existsSync(path.join(scratch, template))) throw new Error(`no ${template} after making it`);
    }
    writeFileSync(path.join(scratch, hashFile), `${hash}\n`);
    // Swap the finished build into place. Two builds at once both finish; the later rename wins, and
    // either result is the same build.
    const old = path.join(root, `.dist-old-${process.pid}`);
    if (existsSync(distDir)) renameSync(distDir, old);
    try {
      renameSync(scratch, distDir);
    } catch (error) {
      if (!distIsCurrent()) throw error;
    }
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return hash;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const ifStale = process.argv.includes('--if-stale');
  if (ifStale && distIsCurrent()) process.exit(0);
  const started = performance.now();
  try {
    await build();
  } catch (error) {
    console.error(`The build failed: ${error instanceof Error ? error.message.split('\n')[0] : error}`);
    process.exit(1);
  }
  // stdout, not stderr: a start-up failure after a build is still one line on stderr.
  console.log(`built dist/ from src/ in ${Math.round(performance.now() - started)} ms`);
}
