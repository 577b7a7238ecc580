/**
 * Which unit tests run where. `npm test` (CI) must finish within 30 minutes on 2 cores, so it
 * runs the suite tier: every file but `benchTier`, and in a few files the cases that repeat a
 * path another case already covers are left to the full tier (they read `SVLM_TIER`).
 *
 * - `npm run test:bench` (SVLM_TIER=bench): the bench harness end to end on the tiny shape, in
 *   Node and in Chromium (minutes each); it checks the bench's plumbing, not a feature a person
 *   uses. Run it before a bench change lands.
 * - `npm run test:full` (SVLM_TIER=full): everything, the bench files and the repeated cases
 *   included (goldenFollowUp's plain-decode Dawn case, marginsParity's whole Qwen2 + SigLIP
 *   matrix). Run it before a change to the engine's decode or the pruning kernels lands.
 */
export const benchTier = ['bench/harness.test.ts', 'bench/browserHarness.test.ts'];
