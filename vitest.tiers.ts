/**
 * Which unit-tier files run where. `npm test` (CI) runs everything but `benchTier`; those files
 * drive the whole bench harness end to end (minutes each on a 2-core machine) and check its
 * plumbing, not a feature a person uses, so they run with `npm run test:bench` — before a bench
 * change lands, and on the GPU machine's recipe. The suite must stay under 30 minutes on 2 cores.
 */
export const benchTier = ['bench/harness.test.ts', 'bench/browserHarness.test.ts'];
