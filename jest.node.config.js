/** `npm run test:node`: both packages, from their tarballs, under every Node.js version they support (run by `.ci/run`). */
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test/node-versions'],
  testMatch: ['**/*.node.test.ts'],
  testPathIgnorePatterns: [],
  testTimeout: 600000,
  maxWorkers: 1,
};
