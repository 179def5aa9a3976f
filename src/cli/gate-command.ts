import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type { CaseResult, Report } from '../contracts/report';
import { readReportStreaming, ReportSyntaxError } from '../runner/report-reader';
import { evaluateGateRules, formatGateOutcome } from '../runner/gate';
import { toMarkdownComment } from '../runner/markdown';
import { EXIT_GATE_FAILED, EXIT_OK, UsageError } from './errors';
import type { Io } from './main';

/** `--min faithfulness=0.9` → { faithfulness: 0.9 }; anything else names the flag and the expected form. */
export function parsePairs(values: readonly string[] | undefined, flag: string): Record<string, number> {
  const pairs: Record<string, number> = {};
  for (const value of values ?? []) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(value);
    if (!match || !Number.isFinite(Number(match[2]))) throw new UsageError(`${flag} ${value}: expected <metric>=<number>, e.g. faithfulness=0.9`);
    pairs[match[1]] = Number(match[2]);
  }
  return pairs;
}

export async function writeOutput(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}

/**
 * Reads a report.json a case at a time (`readReportStreaming`), keeping what `keep` returns of each case: the
 * gate keeps scores and verdicts, not outputs, so a report of 100,000 cases is never held whole.
 */
export async function readReport(path: string, keep: (value: unknown) => unknown = (value) => value): Promise<Report> {
  let report: Record<string, unknown>;
  try {
    report = readReportStreaming(path, keep);
  } catch (error) {
    if (error instanceof ReportSyntaxError) throw new UsageError(`${path}: not JSON (${error.message})`);
    throw new UsageError(`${path}: cannot read the report`);
  }
  const candidate = report as Partial<Report>;
  if (typeof candidate.summary !== 'object' || !Array.isArray(candidate.cases)) {
    throw new UsageError(`${path}: not an evalctl report (no summary object or cases array)`);
  }
  return candidate as Report;
}

/** What the gate and its comment read of a case: who it is, its status and error, each metric's score and verdict. */
export function gateCase(value: unknown): unknown {
  if (!value || typeof value !== 'object') return value;
  const { suite, id, index, status, error, error_cause, metrics } = value as Partial<CaseResult>;
  const kept: Record<string, unknown> = {};
  if (metrics && typeof metrics === 'object') {
    for (const [metric, result] of Object.entries(metrics)) {
      if (!result || typeof result !== 'object') continue;
      kept[metric] = { metric: result.metric, score: result.score, passed: result.passed, direction: result.direction, error: result.error };
    }
  }
  return { suite, id, index, status, error, error_cause, metrics: metrics && typeof metrics === 'object' ? kept : metrics };
}

/** `evalctl gate`: rules over a finished report, optionally against a baseline report. */
export async function gateCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      min: { type: 'string', multiple: true },
      max: { type: 'string', multiple: true },
      baseline: { type: 'string' },
      'max-drop': { type: 'string' },
      markdown: { type: 'string' },
      'api-key': { type: 'string' },
      'link-hours': { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('gate: name exactly one report.json');
  let maxDrop: number | undefined;
  if (values['max-drop'] !== undefined) {
    maxDrop = Number(values['max-drop']);
    if (!Number.isFinite(maxDrop) || maxDrop < 0) throw new UsageError(`--max-drop ${values['max-drop']}: expected a number >= 0`);
  }
  const min = parsePairs(values.min, '--min');
  const max = parsePairs(values.max, '--max');
  if (Object.keys(min).length + Object.keys(max).length === 0 && !values.baseline && !values.markdown) {
    throw new UsageError('gate: give at least one of --min, --max or --baseline');
  }
  const report = await readReport(positionals[0], gateCase);
  const baseline = values.baseline ? await readReport(values.baseline, gateCase) : undefined;
  const outcome = evaluateGateRules(report, { min, max, baseline, maxDrop });
  io.stdout.write(`${formatGateOutcome(outcome, baseline !== undefined)}\n`);
  if (values.markdown) {
    let linkHours: number | undefined;
    if (values['link-hours'] !== undefined) {
      linkHours = Number(values['link-hours']);
      if (!Number.isInteger(linkHours) || linkHours < 1 || linkHours > 336) throw new UsageError(`--link-hours ${values['link-hours']}: expected whole hours from 1 to 336`);
    }
    const { viewerLinks } = require('./viewer-links') as typeof import('./viewer-links');
    const links = await viewerLinks(report, baseline, { apiKey: values['api-key'] ?? io.env.EVAL_API_KEY, ttlHours: linkHours, warn: (message) => io.stderr.write(`${message}\n`) });
    await writeOutput(values.markdown, toMarkdownComment(report, { outcome, baseline, maxDrop: maxDrop ?? 0, links }));
  }
  // The rules given here decide; the report's own threshold verdict is `evalctl run`'s exit code.
  return outcome.passed ? EXIT_OK : EXIT_GATE_FAILED;
}
