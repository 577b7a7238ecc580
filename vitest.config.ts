import { configDefaults, defineConfig } from 'vitest/config';
import { benchTier } from './vitest.tiers';

// SVLM_TIER: unset = the suite `npm test` runs; 'bench' = the bench harness only; 'full' = all (vitest.tiers.ts).
const tier = process.env.SVLM_TIER;

export default defineConfig({
  test: {
    include: tier === 'bench' ? benchTier : ['src/**/*.test.ts', 'bench/**/*.test.ts'],
    exclude: tier === 'bench' || tier === 'full' ? configDefaults.exclude : [...configDefaults.exclude, ...benchTier],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Dawn (SwiftShader) and ORT are heavy; run test files one at a time on these 2-core machines.
    fileParallelism: false,
  },
});
