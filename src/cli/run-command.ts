import { parseArgs } from 'node:util';
import { detectBuildMetadata } from '../build-metadata';
import type { Report } from '../contracts/report';
import { DirectoryResponseCache } from '../providers/cache';
import { INFRASTRUCTURE_CAUSES } from '../providers/retry';
import { toJunitXml } from '../runner/junit';
import { sideBySide } from '../runner/side-by-side';
import { runSuites, type Progress } from '../runner/run-suites';
import { loadSuites, missingCredentials } from '../suite/load';
import { readCliEnvironment } from './environment';
import { EXIT_GATE_FAILED, EXIT_NOT_EVALUATED, EXIT_OK, UsageError } from './errors';
import { parsePairs, writeOutput } from './gate-command';
import type { Io } from './main';
import { progressReporter } from './progress';
import { RemoteError, runOnServer } from './remote-run';

/** Errored cases shown on the console, with their cause; the rest are in report.json. */
const ERRORS_SHOWN = 5;

function summaryTable(report: Report): string {
  const rows = Object.entries(report.metrics).map(([id, m]) => {
    const mean = m.mean === null ? '—' : m.mean.toFixed(4);
    return `  ${id.padEnd(24)} mean ${mean.padStart(8)}  threshold ${m.direction === 'higher' ? '>=' : '<='} ${m.threshold}  passed ${m.passed}/${m.passed + m.failed + m.errored}${m.errored ? `  errored ${m.errored}` : ''}`;
  });
  const cost = report.usage.total_cost_usd === null ? 'unknown (a model has no price)' : `$${report.usage.total_cost_usd.toFixed(6)}`;
  const cached = report.usage.by_model.reduce((n, m) => n + m.cache_hits, 0);
  const lines = [
    `${report.totals.cases} cases: ${report.totals.passed} passed, ${report.totals.failed} failed, ${report.totals.errored} errored in ${(report.duration_ms / 1000).toFixed(1)}s`,
    ...rows,
    `  LLM cost ${cost}${cached ? `, ${cached} call(s) from the cache` : ''}`,
  ];
  const matrix = sideBySide(report);
  if (matrix) {
    const widths = matrix.header.map((_, i) => Math.max(...[matrix.header, ...matrix.rows].map((r) => r[i].length)));
    const line = (cells: string[]) => `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')}`.trimEnd();
    lines.push('Targets side by side:', line(matrix.header), ...matrix.rows.map(line));
  }
  const errored = report.cases.filter((c) => c.status === 'errored');
  if (errored.length > 0) {
    lines.push(`Errored cases (first ${Math.min(ERRORS_SHOWN, errored.length)} of ${errored.length}):`);
    for (const c of errored.slice(0, ERRORS_SHOWN)) lines.push(`  ${c.suite} / ${c.id}: ${c.error ?? 'errored'}`);
  }
  lines.push(report.gate.passed ? 'Gate passed.' : `Gate FAILED:\n${report.gate.failures.map((f) => `  ${f}`).join('\n')}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Why the report is no verdict on the agent, or undefined when it is: a case errored because the LLM refused
 * the key, could not be reached or kept failing, or more than `maxErroredShare` of the cases errored.
 */
export function notEvaluatedBecause(report: Report, maxErroredShare: number): string | undefined {
  const infrastructure = report.cases.filter((c) => c.error_cause && INFRASTRUCTURE_CAUSES.has(c.error_cause));
  if (infrastructure.length > 0) {
    const first = infrastructure[0];
    return `${infrastructure.length} case(s) could not be evaluated (${[...new Set(infrastructure.map((c) => c.error_cause))].join(', ')}); first: ${first.suite} / ${first.id}: ${first.error}`;
  }
  const errored = report.totals.errored;
  if (report.totals.cases > 0 && errored / report.totals.cases > maxErroredShare) {
    return `${errored} of ${report.totals.cases} cases errored, more than --max-errored-share ${maxErroredShare}`;
  }
  return undefined;
}

/** `evalctl run`: evaluates suites in-process (or on a platform with --server) and applies their gates. */
export async function runCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'output-json': { type: 'string' },
      junit: { type: 'string' },
      concurrency: { type: 'string' },
      threshold: { type: 'string', multiple: true },
      'max-errored-share': { type: 'string' },
      'no-cache': { type: 'boolean' },
      'cache-dir': { type: 'string' },
      server: { type: 'string' },
      'api-key': { type: 'string' },
    },
  });
  if (positionals.length === 0) throw new UsageError('run: name at least one suite file or folder');
  let concurrency: number | undefined;
  if (values.concurrency !== undefined) {
    concurrency = Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError(`--concurrency ${values.concurrency}: expected a positive integer`);
  }
  const maxErroredShare = values['max-errored-share'] === undefined ? 0.5 : Number(values['max-errored-share']);
  if (!Number.isFinite(maxErroredShare) || maxErroredShare < 0 || maxErroredShare > 1) {
    throw new UsageError(`--max-errored-share ${values['max-errored-share']}: expected a number from 0 to 1`);
  }
  const thresholds = parsePairs(values.threshold, '--threshold');
  const environment = readCliEnvironment(io.env);
  const suites = await loadSuites(positionals, io.env);
  const progress = progressReporter(io.stderr, io.env);
  const onProgress = (p: Progress) => progress.update(p);
  let report: Report;
  if (values.server) {
    const apiKey = values['api-key'] ?? io.env.EVAL_API_KEY;
    if (!apiKey) throw new UsageError('--server needs an API key: --api-key or EVAL_API_KEY (evalctl keys create --project <name>)');
    if (Object.keys(thresholds).length > 0 || concurrency !== undefined) {
      throw new UsageError('--threshold and --concurrency apply to local runs; the platform evaluates the suites as written');
    }
    try {
      report = await runOnServer(suites, { server: values.server, apiKey, build: detectBuildMetadata(io.env), onProgress });
    } catch (error) {
      if (!(error instanceof RemoteError)) throw error;
      if (!error.notEvaluated) throw new UsageError(error.message);
      progress.finish();
      io.stderr.write(`evalctl: not evaluated: ${error.message}\n`);
      return EXIT_NOT_EVALUATED;
    }
  } else {
    const missing = missingCredentials(suites, io.env);
    if (missing.length > 0) throw new UsageError(missing.join('\n'));
    const known = new Set(suites.flatMap((s) => s.metrics.map((m) => m.id)));
    for (const id of Object.keys(thresholds)) {
      if (!known.has(id)) throw new UsageError(`--threshold ${id}: no suite has a metric "${id}" (have: ${[...known].join(', ')})`);
    }
    report = await runSuites(suites, {
      concurrency,
      thresholds,
      retry: environment.retry,
      cache: values['no-cache'] ? undefined : new DirectoryResponseCache(values['cache-dir'] ?? environment.cacheDir),
      env: io.env,
      onProgress,
    });
  }
  progress.finish();
  if (values['output-json']) await writeOutput(values['output-json'], `${JSON.stringify(report, null, 2)}\n`);
  if (values.junit) await writeOutput(values.junit, toJunitXml(report));
  io.stdout.write(summaryTable(report));
  const notEvaluated = notEvaluatedBecause(report, maxErroredShare);
  if (notEvaluated) {
    io.stderr.write(`evalctl: not evaluated: ${notEvaluated}\nThe scores are no verdict on the agent; fix the cause and run again (exit 3).\n`);
    return EXIT_NOT_EVALUATED;
  }
  return report.gate.passed ? EXIT_OK : EXIT_GATE_FAILED;
}
