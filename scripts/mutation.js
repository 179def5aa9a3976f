#!/usr/bin/env node
// `npm run test:mutation [-- <module>...]`: StrykerJS over each module where a silent break costs most, one
// run per module (stryker.config.json, with that module's files), each incremental against its own file in
// reports/incremental/ (committed), then the score of every module (scripts/mutation-score.js). One module's
// report lands when it is done, and a change to one module re-runs that module only.
'use strict';
const { spawnSync } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { MODULES } = require('./mutation-modules');

const root = join(__dirname, '..');
const args = process.argv.slice(2);
const force = args.includes('--force');
const names = args.filter((a) => !a.startsWith('--'));
const unknown = names.filter((n) => !MODULES.some((m) => m.id === n));
if (unknown.length) {
  console.error(`test:mutation: unknown module ${unknown.join(', ')}; the modules are ${MODULES.map((m) => m.id).join(', ')}`);
  process.exit(2);
}
const base = JSON.parse(readFileSync(join(root, 'stryker.config.json'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'stryker-config-'));
let failed = 0;
try {
  for (const module of MODULES.filter((m) => names.length === 0 || names.includes(m.id))) {
    const config = {
      ...base,
      mutate: module.mutate,
      incrementalFile: `reports/incremental/${module.id}.json`,
      jsonReporter: { fileName: `reports/mutation/${module.id}.json` },
      htmlReporter: { fileName: `reports/mutation/${module.id}.html` },
      // The bar is each module's, checked by mutation-score.js once every module has run.
      thresholds: { ...base.thresholds, break: null },
    };
    const file = join(work, `${module.id}.config.json`);
    writeFileSync(file, JSON.stringify(config));
    console.log(`\n== ${module.id}: ${module.mutate.join(', ')}`);
    const result = spawnSync('npx', ['stryker', 'run', file, ...(force ? ['--force'] : [])], { cwd: root, stdio: 'inherit' });
    if (result.status !== 0) failed++;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const score = spawnSync(process.execPath, [join(__dirname, 'mutation-score.js'), ...names], { cwd: root, stdio: 'inherit' });
process.exitCode = failed > 0 ? 1 : (score.status ?? 1);
