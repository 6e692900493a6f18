#!/usr/bin/env node
// The operator CLI. Runs the compiled code in dist/ when it was built from the sources as they are now
// (`npm run build`, or any `npm start`); otherwise the TypeScript sources through tsx, as in development.
import { distIsCurrent } from '../scripts/build.js';

if (distIsCurrent()) {
  await import('../dist/cli/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
