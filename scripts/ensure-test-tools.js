#!/usr/bin/env node
'use strict';
// Installs the command-line tools the tests drive for real (jq, as the brief's CI gate uses it; promtool and
// amtool for the monitoring objects; shellcheck for the gate action's script; chromium for the viewer) when they are missing, from
// Debian's packages. Runs before `npm test`;
// with the argument `images`, installs buildah and debootstrap before `npm run test:images`; with `apply`, the AWS CLI
// and jq `npm run test:apply` runs against the AWS API simulator (moto, a python3 module, is the machine's own).
const { spawnSync } = require('node:child_process');
const { aptGet } = require('./apt');

const SETS = {
  tests: [
    { command: 'jq', debianPackage: 'jq' },
    // promtool checks and unit-tests the alert rules; amtool checks the Alertmanager configuration.
    { command: 'promtool', debianPackage: 'prometheus' },
    { command: 'amtool', debianPackage: 'prometheus-alertmanager' },
    // shellcheck lints the reusable quality gate's steps (.github/actions/quality-gate/gate.sh).
    { command: 'shellcheck', debianPackage: 'shellcheck' },
    // The viewer's browser tests drive Debian's Chromium with playwright-core (a devDependency; it downloads no browser).
    { command: 'chromium', debianPackage: 'chromium' },
  ],
  // `npm run test:images`: buildah builds and runs the Dockerfile's images, debootstrap makes their base.
  images: [
    { command: 'buildah', debianPackage: 'buildah' },
    { command: 'debootstrap', debianPackage: 'debootstrap' },
  ],
  // `npm run test:apply`: the AWS CLI asks the simulator for its gaps and counts what is left; jq as the runbook uses it.
  apply: [
    { command: 'aws', debianPackage: 'awscli' },
    { command: 'jq', debianPackage: 'jq' },
  ],
};
const TOOLS = SETS[process.argv[2] || 'tests'];
if (!TOOLS) {
  console.error(`ensure-test-tools: unknown set "${process.argv[2]}": expected one of ${Object.keys(SETS).join(', ')}`);
  process.exit(2);
}

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

const missing = TOOLS.filter((tool) => !has(tool.command));
if (missing.length === 0) process.exit(0);
const packages = missing.map((tool) => tool.debianPackage);
if (!has('apt-get')) {
  console.error(`Missing test tools: ${packages.join(', ')}. Install them with your package manager.`);
  process.exit(1);
}
console.error(`Installing test tools from Debian packages: ${packages.join(', ')}`);
if (!aptGet(['install', '-y', '--no-install-recommends', ...packages], { exitOnFailure: false })) {
  aptGet(['update']);
  aptGet(['install', '-y', '--no-install-recommends', ...packages]);
}
for (const tool of missing) {
  if (!has(tool.command)) {
    console.error(`${tool.command} is still missing after installing ${tool.debianPackage}`);
    process.exit(1);
  }
}
