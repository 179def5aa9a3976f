/** `npm run test:images`: the Dockerfile built and started (slow; not part of `npm test`, run by `.ci/run`). */
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test/images'],
  testPathIgnorePatterns: [],
  testTimeout: 600000,
  maxWorkers: 1,
};
