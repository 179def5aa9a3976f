/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The images' build and start (`npm run test:images`, jest.images.config.js) is slow: `.ci/run` runs it.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/images/'],
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
