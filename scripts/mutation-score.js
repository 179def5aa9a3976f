#!/usr/bin/env node
// The mutation score of each module StrykerJS mutates (`npm run test:mutation`), from the JSON reports in
// reports/mutation/, against the bar stryker.config.json sets (`thresholds.break`): a module under it fails the
// command, and every survivor is listed where it is. Usage: node scripts/mutation-score.js [module...] [--markdown]
'use strict';
const { readFileSync } = require('node:fs');
const { join, relative } = require('node:path');

const root = join(__dirname, '..');
const args = process.argv.slice(2);
const markdown = args.includes('--markdown');
const only = args.filter((a) => !a.startsWith('--'));
const config = JSON.parse(readFileSync(join(root, 'stryker.config.json'), 'utf8'));
const bar = config.thresholds?.break ?? 90;

const { MODULES } = require('./mutation-modules');

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

const rows = [];
const survivors = [];
const leftOnPurpose = [];
for (const { id: name, mutate } of MODULES.filter((m) => only.length === 0 || only.includes(m.id))) {
  const counts = { detected: 0, undetected: 0, ignored: 0, invalid: 0 };
  const reportFile = join(root, 'reports/mutation', `${name}.json`);
  let report;
  try {
    report = JSON.parse(readFileSync(reportFile, 'utf8'));
  } catch (error) {
    console.error(`mutation-score: cannot read ${relative(root, reportFile)} (${error.code ?? error.message}): run \`npm run test:mutation -- ${name}\``);
    rows.push({ name, ...counts, score: null });
    continue;
  }
  for (const [file, result] of Object.entries(report.files)) {
    const path = file.split('\\').join('/');
    if (!mutate.includes(path)) continue;
    for (const mutant of result.mutants) {
      if (DETECTED.has(mutant.status)) counts.detected++;
      else if (UNDETECTED.has(mutant.status)) {
        counts.undetected++;
        const line = result.source.split('\n')[mutant.location.start.line - 1] ?? '';
        survivors.push(`${path}:${mutant.location.start.line}:${mutant.location.start.column} ${mutant.mutatorName} (${mutant.status}): ${line.trim().slice(0, 100)}${mutant.replacement !== undefined ? `  →  ${String(mutant.replacement).replace(/\s+/g, ' ').slice(0, 60)}` : ''}`);
      } else if (mutant.status === 'Ignored') {
        counts.ignored++;
        leftOnPurpose.push(`${path}:${mutant.location.start.line} ${mutant.mutatorName}: ${mutant.statusReason ?? '(no reason given)'}`);
      }
      else counts.invalid++;
    }
  }
  const valid = counts.detected + counts.undetected;
  rows.push({ name, ...counts, score: valid === 0 ? null : (100 * counts.detected) / valid });
}

const fmt = (score) => (score === null ? 'n/a' : `${score.toFixed(1)} %`);
if (markdown) {
  console.log('| module | mutants killed / valid | score | ignored (left on purpose) |\n|---|---|---|---|');
  for (const r of rows) console.log(`| \`${r.name}\` | ${r.detected} / ${r.detected + r.undetected} | ${fmt(r.score)} | ${r.ignored} |`);
} else {
  const width = Math.max(...rows.map((r) => r.name.length));
  console.log(`${'module'.padEnd(width)}  killed/valid  score    ignored  compile errors`);
  for (const r of rows) console.log(`${r.name.padEnd(width)}  ${`${r.detected}/${r.detected + r.undetected}`.padEnd(12)}  ${fmt(r.score).padEnd(7)}  ${String(r.ignored).padEnd(7)}  ${r.invalid}`);
  if (leftOnPurpose.length) console.log(`\nLeft on purpose, each with its reason (${leftOnPurpose.length}):\n${leftOnPurpose.map((e) => `  ${e}`).join('\n')}`);
  console.log(survivors.length ? `\nSurvivors (${survivors.length}):\n${survivors.map((s) => `  ${s}`).join('\n')}` : '\nNo survivors.');
}
const under = rows.filter((r) => r.score !== null && r.score < bar);
const missing = rows.filter((r) => r.score === null);
if (missing.length) console.error(`\nmutation-score: no result for ${missing.map((r) => r.name).join(', ')}`);
if (under.length) console.error(`\nmutation-score: under ${bar} %: ${under.map((r) => `${r.name} (${fmt(r.score)})`).join(', ')}`);
process.exitCode = under.length || missing.length ? 1 : 0;
