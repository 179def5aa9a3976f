#!/usr/bin/env node
// The mutation score of each module StrykerJS mutates (`npm run test:mutation`), from its JSON report, against
// the bar stryker.config.json sets for every module (`thresholds.break`): a module under it fails the command,
// and every survivor is listed where it is. Usage: node scripts/mutation-score.js [report.json] [--markdown]
'use strict';
const { readFileSync } = require('node:fs');
const { join, relative } = require('node:path');

const root = join(__dirname, '..');
const args = process.argv.slice(2);
const markdown = args.includes('--markdown');
const reportFile = args.find((a) => !a.startsWith('--')) ?? join(root, 'reports/mutation/mutation.json');
const config = JSON.parse(readFileSync(join(root, 'stryker.config.json'), 'utf8'));
const bar = config.thresholds?.break ?? 90;

/** The modules the issue names, each as the files it is made of. */
const MODULES = [
  ['src/platform/secret-box.ts', (f) => f === 'src/platform/secret-box.ts'],
  ['src/egress/', (f) => f.startsWith('src/egress/')],
  ['src/providers/endpoints.ts', (f) => f === 'src/providers/endpoints.ts'],
  ['src/platform/tenancy.ts', (f) => f === 'src/platform/tenancy.ts'],
  ['src/runner/gate.ts', (f) => f === 'src/runner/gate.ts'],
  ['constructs/src/policy/golive.ts', (f) => f === 'constructs/src/policy/golive.ts'],
  ['constructs/src/config/ (capacity, release)', (f) => f.startsWith('constructs/src/config/')],
  ['synth/releases.ts', (f) => f === 'synth/releases.ts'],
  ['synth/release-cli.ts', (f) => f === 'synth/release-cli.ts'],
];

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

let report;
try {
  report = JSON.parse(readFileSync(reportFile, 'utf8'));
} catch (error) {
  console.error(`mutation-score: cannot read ${reportFile} (${error.message}); run \`npm run test:mutation\` first`);
  process.exit(2);
}

const rows = [];
const survivors = [];
for (const [name, holds] of MODULES) {
  const counts = { detected: 0, undetected: 0, ignored: 0, invalid: 0 };
  for (const [file, result] of Object.entries(report.files)) {
    const path = relative(root, join(root, file)).split('\\').join('/');
    if (!holds(path)) continue;
    for (const mutant of result.mutants) {
      if (DETECTED.has(mutant.status)) counts.detected++;
      else if (UNDETECTED.has(mutant.status)) {
        counts.undetected++;
        const line = result.source.split('\n')[mutant.location.start.line - 1] ?? '';
        survivors.push(`${path}:${mutant.location.start.line}:${mutant.location.start.column} ${mutant.mutatorName} (${mutant.status}): ${line.trim().slice(0, 100)}${mutant.replacement !== undefined ? `  →  ${String(mutant.replacement).replace(/\s+/g, ' ').slice(0, 60)}` : ''}`);
      } else if (mutant.status === 'Ignored') counts.ignored++;
      else counts.invalid++;
    }
  }
  const valid = counts.detected + counts.undetected;
  rows.push({ name, ...counts, score: valid === 0 ? null : (100 * counts.detected) / valid });
}

const fmt = (score) => (score === null ? 'n/a' : `${score.toFixed(1)} %`);
if (markdown) {
  console.log('| module | mutants killed / valid | score | ignored (equivalent) |\n|---|---|---|---|');
  for (const r of rows) console.log(`| \`${r.name}\` | ${r.detected} / ${r.detected + r.undetected} | ${fmt(r.score)} | ${r.ignored} |`);
} else {
  const width = Math.max(...rows.map((r) => r.name.length));
  console.log(`${'module'.padEnd(width)}  killed/valid  score    ignored  compile errors`);
  for (const r of rows) console.log(`${r.name.padEnd(width)}  ${`${r.detected}/${r.detected + r.undetected}`.padEnd(12)}  ${fmt(r.score).padEnd(7)}  ${String(r.ignored).padEnd(7)}  ${r.invalid}`);
  console.log(survivors.length ? `\nSurvivors (${survivors.length}):\n${survivors.map((s) => `  ${s}`).join('\n')}` : '\nNo survivors.');
}
const under = rows.filter((r) => r.score !== null && r.score < bar);
const missing = rows.filter((r) => r.score === null);
if (missing.length) console.error(`\nmutation-score: no mutant in ${missing.map((r) => r.name).join(', ')}: is stryker.config.json's "mutate" missing it?`);
if (under.length) console.error(`\nmutation-score: under ${bar} %: ${under.map((r) => `${r.name} (${fmt(r.score)})`).join(', ')}`);
process.exitCode = under.length || missing.length ? 1 : 0;
