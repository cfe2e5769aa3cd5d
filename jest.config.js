// Three tiers, told apart by file name (see docs/CONVENTIONS.md):
//   *.spec.ts              unit: pure logic, no I/O
//   *.integration-spec.ts  one module against real PostgreSQL and real Kafka
//   test/e2e/*.e2e-spec.ts the running product over HTTP/gRPC
//   test/cluster/*.cluster-spec.ts  the deployed shape, every service its own process (npm run test:cluster)
// Jest runs in native ESM mode because NestJS 12 ships ES modules only.
const rootDir = new URL('.', import.meta.url).pathname;
const common = {
  rootDir,
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { swcrc: true }] },
  moduleNameMapper: { '^@tollgate/([a-z-]+)$': '<rootDir>/libs/$1/src' },
  testEnvironment: 'node',
};

export default {
  rootDir,
  testTimeout: 30000,
  // A worker ends holding 0.5-1.5 GB of heap (each test file's ESM module graph), and Node's teardown of it
  // after the process's 'exit' took 600-850 ms on these machines (measured 2026-12-06: 'exit' 34-51 ms after
  // Jest's end message, the process gone 640-850 ms after it, no handle left open). Jest's default of 500 ms
  // then force-killed workers that leaked nothing and printed "failed to exit gracefully". A worker kept
  // alive by a leaked handle still is killed, and reported, after this.
  workerGracefulExitTimeout: 5000,
  // Starts one Kafka broker and one PostgreSQL for the whole run, unless only unit tests run.
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,test}/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/{apps,libs,test}/**/*.integration-spec.ts'],
      slowTestThreshold: 20,
    },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'], slowTestThreshold: 30 },
    // The deployed shape (3 brokers, PostgreSQL, 7 service processes; it starts its own): `npm run test:cluster`,
    // not part of `npm test` (docs/operations.md, "The cluster tier", says why).
    {
      ...common,
      displayName: 'cluster',
      testMatch: ['<rootDir>/test/cluster/**/*.cluster-spec.ts'],
      slowTestThreshold: 120,
    },
  ],
};
