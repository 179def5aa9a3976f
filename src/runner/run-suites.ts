import type { BuildMetadata } from '../contracts/build';
import { detectBuildMetadata } from '../build-metadata';
import { Judge } from '../metrics/judge';
import type { ResponseCache } from '../providers/cache';
import { LlmGateway } from '../providers/llm-gateway';
import type { ModelLimits } from '../providers/rate-limiter';
import type { RetryPolicy } from '../providers/retry';
import type { LoadedSuite } from '../suite/load';
import { evaluateCase, judgeSettings } from './evaluate-case';
import type { CaseResult, Report } from '../contracts/report';
import { BufferedFile, CaseSpool } from './case-spool';
import { junitCase, tallyJunitCase, writeJunit, type JunitSuiteTally } from './junit';
import { caseJson, reportJsonPieces } from './report-json';
import { ReportAccumulator, type ReportHead } from './summarize';

export interface Progress {
  readonly done: number;
  readonly total: number;
  readonly passed: number;
  readonly failed: number;
  readonly errored: number;
  readonly elapsedMs: number;
}

export interface RunOptions {
  /** Cases evaluated at once; defaults to the largest `concurrency` of the suites, else 10. */
  readonly concurrency?: number;
  /** Response cache for calls at temperature 0; absent: none. */
  readonly cache?: ResponseCache;
  readonly retry?: RetryPolicy;
  /** Metric id → threshold, overriding the suites'. */
  readonly thresholds?: Readonly<Record<string, number>>;
  readonly build?: BuildMetadata;
  readonly env?: NodeJS.ProcessEnv;
  readonly onProgress?: (progress: Progress) => void;
  /** A gateway shared with other runs (the workers' process-wide limiter); built from the suites otherwise. */
  readonly gateway?: LlmGateway;
  /** Called with each case as it finishes and its position in the report (cases finish in any order). */
  readonly onCase?: (result: CaseResult, position: number) => void;
}

/** A suite's `providers[]` rate limits, per `provider/model` (the first entry for a model wins). */
export function suiteModelLimits(suite: LoadedSuite['suite']): Map<string, ModelLimits> {
  const limits = new Map<string, ModelLimits>();
  for (const entry of suite.providers) {
    const key = `${entry.provider}/${entry.model}`;
    if (!limits.has(key)) limits.set(key, { requestsPerMinute: entry.requests_per_minute, tokensPerMinute: entry.tokens_per_minute, maxConcurrency: entry.max_concurrency });
  }
  return limits;
}

/** Registers a suite's `providers` entries (limits and prices) with a developer's gateway; the first entry for a model wins. */
export function configureGateway(gateway: LlmGateway, suite: LoadedSuite['suite']): void {
  const limits = suiteModelLimits(suite);
  for (const entry of suite.providers) {
    const key = `${entry.provider}/${entry.model}`;
    gateway.configureModel(
      key,
      limits.get(key),
      entry.price
        ? { inputPerMTok: entry.price.input_per_mtok, outputPerMTok: entry.price.output_per_mtok, cachedInputPerMTok: entry.price.cached_input_per_mtok }
        : undefined,
    );
  }
}

/** A gateway configured with the rate limits and prices of all suites' `providers` entries. */
export function gatewayFor(suites: readonly LoadedSuite[], options: Pick<RunOptions, 'cache' | 'retry' | 'env'>): LlmGateway {
  const gateway = new LlmGateway({ cache: options.cache, retry: options.retry, env: options.env });
  for (const { suite } of suites) configureGateway(gateway, suite);
  return gateway;
}

/**
 * Evaluates every case of every suite in-process, `concurrency` at a time, handing each result to `sink` as it
 * finishes with its position (suite by suite, case by case: the report's order). Returns the run's figures.
 */
async function evaluateSuites(
  suites: readonly LoadedSuite[],
  options: RunOptions,
  sink: (result: CaseResult, position: number) => void,
): Promise<{ head: ReportHead }> {
  const startedAt = new Date();
  const gateway = options.gateway ?? gatewayFor(suites, options);
  const thresholds = options.thresholds ?? {};
  const accumulator = new ReportAccumulator(suites, thresholds);
  const judges = suites.map((loaded) => new Judge(gateway, judgeSettings(loaded.suite.judge)));
  // Where each suite's cases start among the positions: a position is found from the suite and case index.
  const starts: number[] = [];
  let count = 0;
  for (const loaded of suites) {
    starts.push(count);
    count += loaded.suite.cases.length;
  }
  const concurrency = Math.max(1, options.concurrency ?? (Math.max(0, ...suites.map((s) => s.suite.concurrency ?? 0)) || 10));
  const counts = { done: 0, passed: 0, failed: 0, errored: 0 };
  const started = performance.now();
  let suite = 0;
  let next = 0;
  const worker = async () => {
    for (;;) {
      while (suite < suites.length && starts[suite] + suites[suite].suite.cases.length <= next) suite++;
      if (suite >= suites.length) return;
      const position = next++;
      const at = suite;
      const loaded = suites[at];
      const result = await evaluateCase(loaded, position - starts[at], { gateway, thresholds, env: options.env }, judges[at]);
      accumulator.add(result, position);
      sink(result, position);
      options.onCase?.(result, position);
      counts.done++;
      counts[result.status]++;
      options.onProgress?.({ ...counts, total: count, elapsedMs: performance.now() - started });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const head = accumulator.head({ build: options.build ?? detectBuildMetadata(options.env), startedAt, finishedAt: new Date() });
  return { head };
}

/** Evaluates every case of every suite in-process and returns the report, its cases in memory. */
export async function runSuites(suites: readonly LoadedSuite[], options: RunOptions = {}): Promise<Report> {
  const cases: CaseResult[] = [];
  const { head } = await evaluateSuites(suites, options, (result, position) => {
    cases[position] = result;
  });
  return { ...head, cases };
}

/**
 * A run whose cases are on disk, not in memory: its figures, and report.json and JUnit written from them.
 * `close` removes the cases.
 */
export interface StreamedRun {
  readonly head: ReportHead;
  /** Writes report.json (the text `JSON.stringify(report, null, 2)` gives, and a newline). */
  writeJson(path: string): void;
  /** Writes JUnit XML (the text `toJunitXml` gives); only for a run started with `junit: true`. */
  writeJunit(path: string): void;
  close(): void;
}

/**
 * Evaluates the suites as `runSuites` does, keeping each finished case in a temporary file instead of memory:
 * what stays in memory is the report's figures and an index of the cases, whatever their number.
 */
export async function streamSuites(suites: readonly LoadedSuite[], options: RunOptions & { junit?: boolean; spoolDirectory?: string } = {}): Promise<StreamedRun> {
  const junit = options.junit ?? false;
  const spool = new CaseSpool(junit ? 2 : 1, options.spoolDirectory);
  const tallies = new Map<string, JunitSuiteTally>();
  try {
    const { head } = await evaluateSuites(suites, options, (result, position) => {
      if (junit) tallyJunitCase(tallies, result);
      spool.add(position, junit ? [caseJson(result), junitCase(result)] : [caseJson(result)]);
    });
    const positionsOf = function* (name: string | undefined, part: number): Generator<string> {
      let position = 0;
      for (const loaded of suites) {
        const end = position + loaded.suite.cases.length;
        if (name === undefined || loaded.suite.name === name) for (let p = position; p < end; p++) yield spool.read(p, part);
        position = end;
      }
    };
    return {
      head,
      writeJson(path) {
        const file = new BufferedFile(path);
        try {
          for (const piece of reportJsonPieces(head, positionsOf(undefined, 0))) file.write(piece);
          file.write('\n');
        } finally {
          file.close();
        }
      },
      writeJunit(path) {
        if (!junit) throw new Error('this run was not started with junit: true');
        const file = new BufferedFile(path);
        try {
          writeJunit((line) => file.write(`${line}\n`), head, tallies, (index) => positionsOf(head.suites[index].name, 1));
        } finally {
          file.close();
        }
      },
      close: () => spool.close(),
    };
  } catch (error) {
    spool.close();
    throw error;
  }
}
