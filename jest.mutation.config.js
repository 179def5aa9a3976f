// The tests StrykerJS runs against each mutant (`npm run test:mutation`, stryker.config.json): the unit tests
// of the modules it mutates, which need no service. A static mutant (a module-level table or schema) runs every
// test listed here, so the list stays to the tests that exercise those modules.
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testMatch: [
    '<rootDir>/test/platform/secret-box.test.ts',
    '<rootDir>/test/platform/tenancy.test.ts',
    '<rootDir>/test/engine/egress.test.ts',
    '<rootDir>/test/engine/egress-addresses.test.ts',
    '<rootDir>/test/engine/tenant-bounds.test.ts',
    '<rootDir>/test/engine/endpoints.test.ts',
    '<rootDir>/test/engine/gate.test.ts',
    '<rootDir>/test/engine/report-output.test.ts',
    '<rootDir>/test/constructs/golive.test.ts',
    '<rootDir>/test/constructs/golive-findings.test.ts',
    '<rootDir>/test/constructs/config.test.ts',
    '<rootDir>/test/constructs/capacity.test.ts',
    '<rootDir>/test/constructs/k8s.test.ts',
    '<rootDir>/test/synth/releases.test.ts',
    '<rootDir>/test/synth/release-cli.test.ts',
  ],
};
