import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'bench/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Dawn (SwiftShader) and ORT are heavy; run test files one at a time on these 2-core machines.
    fileParallelism: false,
  },
});
