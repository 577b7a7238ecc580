// ESLint flat config (issue 14): typescript-eslint's recommended rules, no unused code.
// Not type-aware on purpose (typecheck runs tsc; this stays a few seconds on 2 cores).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      // What .gitignore leaves out (build outputs, caches, bench pages built under .cache/).
      'node_modules/',
      'dist/',
      'tmp/',
      '.gpu/',
      '.cache/',
      'out/',
      'test-packages/',
      'public/',
      'test-results/',
      'playwright-report/',
      'src/gpu/shaders.generated.ts',
    ],
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{ts,tsx,js,mjs,cjs}'],
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Tests read untyped JSON (page.evaluate results, configs they edit): they may say `any`.
    files: ['**/*.test.ts', 'e2e/**/*.spec.ts', '**/testing/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
