#!/usr/bin/env node
// `npm run test:mutation [-- <module>...]`: StrykerJS over each module where a silent break costs most, one
// run per module (stryker.config.json, with that module's files), each incremental against its own file in
// reports/incremental/ (committed), then the score of every module (scripts/mutation-score.js). One module's
// report lands when it is done, and a change to one module re-runs that module only.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { MODULES } = require('./mutation-modules');

const root = join(__dirname, '..');
const args = process.argv.slice(2);
const force = args.includes('--force');
// Stryker's incremental mode keeps a static mutant's "survived" (one in a module-level table or pattern) even after
// a test that kills it was added: `--survivors` forgets every survivor of the module first, so each runs again.
const survivors = args.includes('--survivors');
const unknownFlags = args.filter((a) => a.startsWith('--') && a !== '--force' && a !== '--survivors');
if (unknownFlags.length) {
  console.error(`test:mutation: unknown option ${unknownFlags.join(', ')}; the options are --force and --survivors`);
  process.exit(2);
}
const names = args.filter((a) => !a.startsWith('--'));
const unknown = names.filter((n) => !MODULES.some((m) => m.id === n));
if (unknown.length) {
  console.error(`test:mutation: unknown module ${unknown.join(', ')}; the modules are ${MODULES.map((m) => m.id).join(', ')}`);
  process.exit(2);
}

/** Drops the survived and uncovered mutants from an incremental report, so that Stryker tests them again. */
function forgetSurvivors(file) {
  if (!existsSync(file)) return;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  let forgotten = 0;
  for (const entry of Object.values(report.files)) {
    const kept = entry.mutants.filter((m) => m.status !== 'Survived' && m.status !== 'NoCoverage');
    forgotten += entry.mutants.length - kept.length;
    entry.mutants = kept;
  }
  writeFileSync(file, JSON.stringify(report, null, 2));
  console.log(`${file}: ${forgotten} survivor(s) to test again`);
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
    if (survivors) forgetSurvivors(join(root, config.incrementalFile));
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
