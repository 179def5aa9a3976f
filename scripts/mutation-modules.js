// The modules `npm run test:mutation` mutates, each as the files it is made of: where a surviving mutant is a
// security or deploy risk (issue 33). Read by scripts/mutation.js and scripts/mutation-score.js.
'use strict';

const MODULES = [
  { id: 'secret-box', mutate: ['src/platform/secret-box.ts'] },
  { id: 'egress', mutate: ['src/egress/guard.ts', 'src/egress/http-parts.ts'] },
  { id: 'endpoints', mutate: ['src/providers/endpoints.ts'] },
  { id: 'tenancy', mutate: ['src/platform/tenancy.ts'] },
  { id: 'gate', mutate: ['src/runner/gate.ts'] },
  { id: 'golive', mutate: ['constructs/src/policy/golive.ts'] },
  { id: 'config', mutate: ['constructs/src/config/capacity.ts', 'constructs/src/config/release.ts'] },
  { id: 'releases', mutate: ['synth/releases.ts'] },
  { id: 'release-cli', mutate: ['synth/release-cli.ts'] },
];

module.exports = { MODULES };
