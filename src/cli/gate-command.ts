import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type { Report } from '../contracts/report';
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

export async function readReport(path: string): Promise<Report> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UsageError(`${path}: cannot read the report`);
  }
  let report: unknown;
  try {
    report = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path}: not JSON (${(error as Error).message})`);
  }
  const candidate = report as Partial<Report> | null;
  if (!candidate || typeof candidate !== 'object' || typeof candidate.summary !== 'object' || !Array.isArray(candidate.cases)) {
    throw new UsageError(`${path}: not an evalctl report (no summary object or cases array)`);
  }
  return candidate as Report;
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
  const report = await readReport(positionals[0]);
  const baseline = values.baseline ? await readReport(values.baseline) : undefined;
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
