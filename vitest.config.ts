import { configDefaults, defineConfig } from 'vitest/config';
import { benchTier } from './vitest.tiers';

// `npm run test:bench` sets SVLM_TIER=bench: only the bench harness's own tests (vitest.tiers.ts says why).
const benchOnly = process.env.SVLM_TIER === 'bench';

export default defineConfig({
  test: {
    include: benchOnly ? benchTier : ['src/**/*.test.ts', 'bench/**/*.test.ts'],
    exclude: benchOnly ? configDefaults.exclude : [...configDefaults.exclude, ...benchTier],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Dawn (SwiftShader) and ORT are heavy; run test files one at a time on these 2-core machines.
    fileParallelism: false,
  },
});
