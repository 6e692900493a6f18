import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time on the 2-core machine (vitest would otherwise use one worker here).
    maxWorkers: 2,
    // A worker runs its files one after another in the same process instead of a new one per file:
    // each file no longer re-imports the sources and recompiles PGlite's WebAssembly (about half of
    // the suite's CPU on this machine: test/ledger, usage, members and allowances went from 203 to 98
    // CPU-seconds). Files still share nothing: each opens its own database, clock and servers.
    isolate: false,
  },
});
