// Three tiers, told apart by file name (see docs/testing.md):
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
