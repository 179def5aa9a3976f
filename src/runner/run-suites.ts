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
import { buildReport } from './summarize';

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

/** Evaluates every case of every suite in-process and returns the report. */
export async function runSuites(suites: readonly LoadedSuite[], options: RunOptions = {}): Promise<Report> {
  const startedAt = new Date();
  const gateway = options.gateway ?? gatewayFor(suites, options);
  const thresholds = options.thresholds ?? {};
  const work = suites.flatMap((loaded) => {
    const judge = new Judge(gateway, judgeSettings(loaded.suite.judge));
    return loaded.suite.cases.map((_, index) => ({ loaded, index, judge }));
  });
  const concurrency = Math.max(1, options.concurrency ?? (Math.max(0, ...suites.map((s) => s.suite.concurrency ?? 0)) || 10));
  const results: CaseResult[] = new Array(work.length);
  const counts = { done: 0, passed: 0, failed: 0, errored: 0 };
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < work.length) {
      const position = next++;
      const { loaded, index, judge } = work[position];
      const result = await evaluateCase(loaded, index, { gateway, thresholds, env: options.env }, judge);
      results[position] = result;
      counts.done++;
      counts[result.status]++;
      options.onProgress?.({ ...counts, total: work.length, elapsedMs: performance.now() - started });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, work.length) }, worker));
  return buildReport({
    suites,
    cases: results,
    build: options.build ?? detectBuildMetadata(options.env),
    thresholds,
    startedAt,
    finishedAt: new Date(),
  });
}
