// The tests StrykerJS runs against each mutant (`npm run test:mutation`, stryker.config.json): the unit tests
// of the modules it mutates, which need no service. A static mutant (a module-level table or schema) runs every
// test listed here, so the list stays to the tests that exercise those modules, and to the fast ones: the go-live
// checks are held finding by finding on in-memory output (golive-findings.test.ts), not by golive.test.ts, which
// synthesizes both stacks before its first test; capacity by capacity.test.ts, not by the k8s synth tests; the
// release records by release-cli.test.ts, not by releases.test.ts, which synthesizes manifests in its tests.
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testMatch: [
    '<rootDir>/test/platform/secret-box.test.ts',
    '<rootDir>/test/platform/tenancy.test.ts',
    '<rootDir>/test/engine/egress.test.ts',
    '<rootDir>/test/engine/egress-addresses.test.ts',
    '<rootDir>/test/engine/egress-fetch.test.ts',
    '<rootDir>/test/engine/endpoints.test.ts',
    '<rootDir>/test/engine/gate.test.ts',
    '<rootDir>/test/engine/gate-boundaries.test.ts',
    '<rootDir>/test/engine/report-output.test.ts',
    '<rootDir>/test/constructs/golive-findings.test.ts',
    '<rootDir>/test/constructs/golive-checks.test.ts',
    '<rootDir>/test/constructs/config.test.ts',
    '<rootDir>/test/constructs/capacity.test.ts',
    '<rootDir>/test/constructs/release-record.test.ts',
    '<rootDir>/test/synth/release-cli.test.ts',
  ],
};
