import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time on the 2-core machine: the suite then runs in about 2.5 minutes per database
    // instead of 4 (vitest would otherwise use one worker here).
    maxWorkers: 2,
  },
});
