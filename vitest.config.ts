import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    setupFiles: ['test/helpers/leak-check.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start worker processes and simulators; two files at a time fit a 2-core machine.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
