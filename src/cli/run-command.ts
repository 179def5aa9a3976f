import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { detectBuildMetadata } from '../build-metadata';
import type { CaseResult, ErrorCause, Report } from '../contracts/report';
import { DirectoryResponseCache } from '../providers/cache';
import { INFRASTRUCTURE_CAUSES } from '../providers/retry';
import { targetsSideBySide } from '../runner/side-by-side';
import { streamSuites, type Progress, type StreamedRun } from '../runner/run-suites';
import type { ReportHead } from '../runner/summarize';
import { loadSuites, missingCredentials } from '../suite/load';
import { readCliEnvironment } from './environment';
import { EXIT_GATE_FAILED, EXIT_NOT_EVALUATED, EXIT_OK, UsageError } from './errors';
import { parsePairs } from './gate-command';
import type { Io } from './main';
import { progressReporter } from './progress';
import { RemoteError, runOnServer } from './remote-run';

/** From this many cases a run trades some CPU for memory (V8's heap growth). */
const LARGE_RUN_CASES = 20_000;

/** Errored cases shown on the console, with their cause; the rest are in report.json. */
const ERRORS_SHOWN = 5;

type NotedCase = Pick<CaseResult, 'suite' | 'id' | 'error'> & { position: number };

/**
 * What the console says about cases, noted as they finish in any order: the first errored ones in the report's
 * order, and the cases the LLM could not evaluate (refused key, unreachable, outage) with their causes.
 */
export class CaseNotes {
  infrastructure = 0;
  readonly firstErrored: NotedCase[] = [];
  /** Per cause, the first position it was seen at. */
  private readonly causes = new Map<ErrorCause, number>();
  firstInfrastructure: NotedCase | undefined;

  add(result: CaseResult, position: number): void {
    if (result.status === 'errored') {
      this.firstErrored.push({ position, suite: result.suite, id: result.id, error: result.error });
      this.firstErrored.sort((a, b) => a.position - b.position);
      if (this.firstErrored.length > ERRORS_SHOWN) this.firstErrored.pop();
    }
    const cause = result.error_cause;
    if (!cause || !INFRASTRUCTURE_CAUSES.has(cause)) return;
    this.infrastructure++;
    if (!this.causes.has(cause) || this.causes.get(cause)! > position) this.causes.set(cause, position);
    if (!this.firstInfrastructure || this.firstInfrastructure.position > position) this.firstInfrastructure = { position, suite: result.suite, id: result.id, error: result.error };
  }

  /** The causes in the order of the first case that had each. */
  infrastructureCauses(): ErrorCause[] {
    return [...this.causes].sort((a, b) => a[1] - b[1]).map(([cause]) => cause);
  }
}

function summaryTable(report: ReportHead, notes: CaseNotes): string {
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
  const matrix = targetsSideBySide(report);
  if (matrix) {
    const widths = matrix.header.map((_, i) => Math.max(...[matrix.header, ...matrix.rows].map((r) => r[i].length)));
    const line = (cells: string[]) => `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')}`.trimEnd();
    lines.push('Targets side by side:', line(matrix.header), ...matrix.rows.map(line));
  }
  if (report.totals.errored > 0) {
    lines.push(`Errored cases (first ${notes.firstErrored.length} of ${report.totals.errored}):`);
    for (const c of notes.firstErrored) lines.push(`  ${c.suite} / ${c.id}: ${c.error ?? 'errored'}`);
  }
  lines.push(report.gate.passed ? 'Gate passed.' : `Gate FAILED:\n${report.gate.failures.map((f) => `  ${f}`).join('\n')}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Why the report is no verdict on the agent, or undefined when it is: a case errored because the LLM refused
 * the key, could not be reached or kept failing, or more than `maxErroredShare` of the cases errored.
 */
export function notEvaluatedBecause(report: Pick<Report, 'totals'>, notes: CaseNotes, maxErroredShare: number): string | undefined {
  const first = notes.firstInfrastructure;
  if (first) {
    return `${notes.infrastructure} case(s) could not be evaluated (${notes.infrastructureCauses().join(', ')}); first: ${first.suite} / ${first.id}: ${first.error}`;
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
  const notes = new CaseNotes();
  const onCase = (result: CaseResult, position: number) => notes.add(result, position);
  const junit = values.junit !== undefined;
  // Outputs are checked before the run: a folder that cannot be made fails now, not after an hour of calls.
  for (const path of [values['output-json'], values.junit]) if (path) await prepareOutput(path);
  // Cases go to a temporary file as they finish (or as the platform's reports are read), and report.json and
  // JUnit are written from it: memory stays the same whatever the number of cases.
  let run: StreamedRun;
  if (values.server) {
    const apiKey = values['api-key'] ?? io.env.EVAL_API_KEY;
    if (!apiKey) throw new UsageError('--server needs an API key: --api-key or EVAL_API_KEY (evalctl keys create --project <name>)');
    if (Object.keys(thresholds).length > 0 || concurrency !== undefined) {
      throw new UsageError('--threshold and --concurrency apply to local runs; the platform evaluates the suites as written');
    }
    try {
      run = await runOnServer(suites, { server: values.server, apiKey, build: detectBuildMetadata(io.env), onProgress, onCase, junit });
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
    // A large run keeps V8's heap closer to what is live (it grows to twice it before collecting, not up to 4×).
    // Over 100,000 cases: peak RSS 300 → 229 MB for 8 % more CPU (30 %: 210 MB for 21 % more). Small runs keep
    // V8's default, the faster.
    if (suites.reduce((n, s) => n + s.suite.cases.length, 0) >= LARGE_RUN_CASES) setFlagsFromString('--heap-growing-percent=100');
    run = await streamSuites(suites, {
      concurrency,
      thresholds,
      retry: environment.retry,
      cache: values['no-cache'] ? undefined : new DirectoryResponseCache(values['cache-dir'] ?? environment.cacheDir),
      env: io.env,
      onProgress,
      onCase,
      junit,
    });
  }
  try {
    progress.finish();
    if (values['output-json']) writeStreamed(values['output-json'], (path) => run.writeJson(path));
    if (values.junit) writeStreamed(values.junit, (path) => run.writeJunit(path));
  } finally {
    run.close();
  }
  const head = run.head;
  io.stdout.write(summaryTable(head, notes));
  const notEvaluated = notEvaluatedBecause(head, notes, maxErroredShare);
  if (notEvaluated) {
    io.stderr.write(`evalctl: not evaluated: ${notEvaluated}\nThe scores are no verdict on the agent; fix the cause and run again (exit 3).\n`);
    return EXIT_NOT_EVALUATED;
  }
  return head.gate.passed ? EXIT_OK : EXIT_GATE_FAILED;
}

/** Makes an output's folder; a path that cannot be written is a usage error naming it. */
async function prepareOutput(path: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (error) {
    throw new UsageError(`${path}: cannot write here (${(error as Error).message})`);
  }
}

function writeStreamed(path: string, write: (path: string) => void): void {
  try {
    write(path);
  } catch (error) {
    throw new UsageError(`${path}: cannot write (${(error as Error).message})`);
  }
}
