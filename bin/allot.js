#!/usr/bin/env node
// The operator CLI. Runs the compiled code in dist/ when it was built from the sources as they are now
// (`npm run build`, or any `npm start`); otherwise the TypeScript sources through tsx, as in development.
import { setFlagsFromString } from 'node:v8';
import { distIsCurrent } from '../scripts/build.js';

// A command runs for a second or two: V8's optimising compiler would spend more CPU compiling
// PGlite's WebAssembly in the background (about 1.3 of 2.9 CPU-seconds per command, measured with
// `allot audit` on a PGlite folder) than it could ever save. Its baseline compiler (Liftoff) alone runs
// the same queries at about the same speed here. Set before anything compiles WebAssembly.
setFlagsFromString('--liftoff-only');

if (distIsCurrent()) {
  await import('../dist/cli/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
