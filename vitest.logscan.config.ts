import { defineConfig } from 'vitest/config';

// Runs after the main suite: scans every log line the suite wrote for the secrets it used.
export default defineConfig({
  test: { include: ['packages/server/test/logscan/**/*.test.ts'] },
});
