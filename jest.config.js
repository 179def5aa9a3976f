/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The images' build and start (`npm run test:images`, jest.images.config.js) is slow: `.ci/run` runs it.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/images/'],
  // The viewer's pages are TSX, rendered by Hono's JSX runtime.
  transform: {
    '^.+\\.ts$': ['@swc/jest'],
    '^.+\\.tsx$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript', tsx: true }, transform: { react: { runtime: 'automatic', importSource: 'hono/jsx' } } } }],
  },
  moduleNameMapper: {
    '^@ai-eval-platform/constructs/(terraform|k8s)$': '<rootDir>/constructs/src/$1/index.ts',
    '^@ai-eval-platform/constructs$': '<rootDir>/constructs/src/index.ts',
  },
  testTimeout: 120000,
  maxWorkers: 2,
};
