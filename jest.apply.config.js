/** `npm run test:apply`: the bootstrap and dev applied against an AWS API simulator (slow; not in `npm test`, run by `.ci/run`). */
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test/apply'],
  testMatch: ['**/*.apply.test.ts'],
  testPathIgnorePatterns: [],
  testTimeout: 900000,
  maxWorkers: 1,
};
