import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    exclude: ['test/lab/**', 'node_modules/**'],
    testTimeout: 20000,
  },
});
