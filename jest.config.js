/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Slow, and run by `.ci/run` after these: the images' build and start (`npm run test:images`), the first deploy
  // against an AWS API simulator (`npm run test:apply`), the packages under every supported Node (`npm run test:node`).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/images/', '<rootDir>/test/apply/', '<rootDir>/test/node-versions/'],
  // The viewer's pages are TSX; each file names Hono's JSX runtime in its pragma, which swc follows.
  transform: {
    '^.+\\.ts$': ['@swc/jest'],
    '^.+\\.tsx$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript', tsx: true } } }],
  },
  moduleNameMapper: {
    '^@ai-eval-platform/constructs/(terraform|k8s)$': '<rootDir>/constructs/src/$1/index.ts',
    '^@ai-eval-platform/constructs$': '<rootDir>/constructs/src/index.ts',
  },
  testTimeout: 120000,
  maxWorkers: 2,
};
