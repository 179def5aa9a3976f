/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The images' build and start (`npm run test:images`, jest.images.config.js) is slow: `.ci/run` runs it.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/images/'],
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  moduleNameMapper: {
    '^@ai-eval-platform/constructs/(terraform|k8s)$': '<rootDir>/constructs/src/$1/index.ts',
    '^@ai-eval-platform/constructs$': '<rootDir>/constructs/src/index.ts',
  },
  testTimeout: 120000,
  maxWorkers: 2,
};
