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
 * finishes with its position (suite by suite, case by case: the report's order). Returns when it ran and its build.
 */
async function evaluateSuites(
  suites: readonly LoadedSuite[],
  options: RunOptions,
  sink: (result: CaseResult, position: number) => void,
): Promise<{ build: BuildMetadata; startedAt: Date; finishedAt: Date }> {
  const startedAt = new Date();
  const gateway = options.gateway ?? gatewayFor(suites, options);
  const thresholds = options.thresholds ?? {};
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
      sink(result, position);
      options.onCase?.(result, position);
      counts.done++;
      counts[result.status]++;
      options.onProgress?.({ ...counts, total: count, elapsedMs: performance.now() - started });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const finishedAt = new Date();
  return { build: options.build ?? detectBuildMetadata(options.env), startedAt, finishedAt };
}

/** Evaluates every case of every suite in-process and returns the report, its cases in memory. */
export async function runSuites(suites: readonly LoadedSuite[], options: RunOptions = {}): Promise<Report> {
  const cases: CaseResult[] = [];
  const accumulator = new ReportAccumulator(suites, options.thresholds ?? {});
  const times = await evaluateSuites(suites, options, (result, position) => {
    accumulator.add(result, position);
    cases[position] = result;
  });
  return { ...accumulator.head(times), cases };
}

/**
 * A run whose cases are on disk, not in memory: its figures, and report.json and JUnit written from them.
 * `close` removes the cases.
 */
export interface StreamedRun {
  /** The report without its cases: the figures, the gate, the build. */
  readonly head: ReportHead;
  /** Writes report.json (the text `JSON.stringify(report, null, 2)` gives, and a newline). */
  writeJson(path: string): void;
  /** Writes JUnit XML (the text `toJunitXml` gives); only for a run started with `junit: true`. */
  writeJunit(path: string): void;
  /** Removes the temporary file of cases; the run is not written after this. */
  close(): void;
}

/**
 * Finished cases kept in a temporary file as they come, in any order, with the report's figures counted as
 * they come: what a run (in this process or on a platform) hands to report.json and JUnit. Memory holds the
 * figures and a few numbers per case, whatever the number of cases.
 */
export class CaseCollector {
  private readonly spool: CaseSpool;
  private readonly accumulator: ReportAccumulator;
  private readonly tallies = new Map<string, JunitSuiteTally>();
  /** Per suite name, its group; per position, the group of its case (JUnit lists each suite's cases). */
  private readonly groupOf = new Map<string, number>();
  private groups = new Uint16Array(1024);
  private count = 0;

  constructor(
    suites: readonly LoadedSuite[],
    thresholds: Readonly<Record<string, number>>,
    private readonly options: { junit?: boolean; spoolDirectory?: string } = {},
  ) {
    this.accumulator = new ReportAccumulator(suites, thresholds);
    for (const loaded of suites) if (!this.groupOf.has(loaded.suite.name)) this.groupOf.set(loaded.suite.name, this.groupOf.size);
    this.spool = new CaseSpool(options.junit ? 2 : 1, options.spoolDirectory);
  }

  add(result: CaseResult, position: number): void {
    this.accumulator.add(result, position);
    if (position >= this.groups.length) {
      const grown = new Uint16Array(Math.max(position + 1, this.groups.length * 2));
      grown.set(this.groups);
      this.groups = grown;
    }
    // A case of a suite the run does not list (none should be) is in report.json, not in JUnit.
    this.groups[position] = this.groupOf.get(result.suite) ?? 0xffff;
    this.count = Math.max(this.count, position + 1);
    if (this.options.junit) {
      tallyJunitCase(this.tallies, result);
      this.spool.add(position, [caseJson(result), junitCase(result)]);
    } else this.spool.add(position, [caseJson(result)]);
  }

  /** The run as written: `tail` holds keys report.json has after `cases` (a platform run's `platform`). */
  finish(times: { build: BuildMetadata; startedAt: Date; finishedAt: Date }, tail: object = {}): StreamedRun {
    const head = this.accumulator.head(times);
    const { spool, tallies } = this;
    const count = this.count;
    const groups = this.groups;
    const junit = this.options.junit ?? false;
    const texts = function* (group: number | undefined, part: number): Generator<string> {
      for (let p = 0; p < count; p++) if (group === undefined || groups[p] === group) yield spool.read(p, part);
    };
    return {
      head,
      writeJson(path) {
        const file = new BufferedFile(path);
        try {
          for (const piece of reportJsonPieces(head, texts(undefined, 0), tail)) file.write(piece);
          file.write('\n');
        } finally {
          file.close();
        }
      },
      writeJunit: (path) => {
        if (!junit) throw new Error('this run was not started with junit: true');
        const file = new BufferedFile(path);
        try {
          writeJunit((line) => file.write(`${line}\n`), head, tallies, (index) => texts(this.groupOf.get(head.suites[index].name), 1));
        } finally {
          file.close();
        }
      },
      close: () => this.close(),
    };
  }

  close(): void {
    this.spool.close();
  }
}

/**
 * Evaluates the suites as `runSuites` does, keeping each finished case in a temporary file instead of memory:
 * what stays in memory is the report's figures and an index of the cases, whatever their number.
 */
export async function streamSuites(suites: readonly LoadedSuite[], options: RunOptions & { junit?: boolean; spoolDirectory?: string } = {}): Promise<StreamedRun> {
  const collector = new CaseCollector(suites, options.thresholds ?? {}, options);
  try {
    return collector.finish(await evaluateSuites(suites, options, (result, position) => collector.add(result, position)));
  } catch (error) {
    collector.close();
    throw error;
  }
}
