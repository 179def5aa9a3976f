#!/usr/bin/env node
// `npm run version:packages`: what a release does before its tag. The pending changesets become the packages'
// versions and CHANGELOG entries (evalctl and the constructs share one version line, `fixed` in
// .changeset/config.json); the repository takes the same version, so the images, the CLI and the library of one
// commit carry one number; the lockfile follows; and the API reports just released become the baseline the next
// change is compared with (scripts/api-report.ts).
const { execFileSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const run = (command, args) => execFileSync(command, args, { cwd: root, stdio: 'inherit' });

run('npx', ['--no-install', 'changeset', 'version']);
const { version } = JSON.parse(readFileSync(join(root, 'evalctl/package.json'), 'utf8'));
run('npm', ['version', version, '--no-git-tag-version', '--allow-same-version', '--workspaces=false']);
run('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund']);
run('npx', ['--no-install', 'tsx', 'scripts/api-report.ts', '--released']);
