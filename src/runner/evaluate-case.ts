import { JudgeReplyError, Judge } from '../metrics/judge';
import { passes, requiredFields, strictScore, type ConfiguredMetric, type EvaluatedCase } from '../metrics/types';
import { llmCallScope, usageByModel, type CallScope, type LlmCallEvent, type LlmGateway, type ModelLimiters } from '../providers/llm-gateway';
import type { EndpointPolicy } from '../providers/endpoints';
import { redactSecrets } from '../providers/redact';
import { errorCause } from '../providers/retry';
import type { ModelSettings } from '../providers/types';
import type { LoadedSuite } from '../suite/load';
import { targetRunsFor, type JudgeSpec } from '../contracts/suite';
import { runTarget } from '../targets/targets';
import type { CaseResult, MetricResult } from '../contracts/report';

/** What evaluating a case needs besides the case: shared by the CLI's runner and the platform's workers. */
export interface CaseContext {
  readonly gateway: LlmGateway;
  /** Metric id → threshold, overriding the suite's. */
  readonly thresholds?: Readonly<Record<string, number>>;
  readonly env?: NodeJS.ProcessEnv;
  /** Sees every LLM call the case makes (the workers write them to ClickHouse). */
  readonly onLlmCall?: (event: LlmCallEvent) => void;
  /** The platform's tenant boundary: everything a run's calls are made with, none of it shared with another run's project. */
  readonly tenant?: TenantBoundary;
}

/** What a platform run's LLM and HTTP calls are made with. */
export interface TenantBoundary {
  /** The run's endpoint policy: the platform's endpoints and its project's own. */
  readonly endpoints: EndpointPolicy;
  /** The egress guard for the run's `http` target and its project's own endpoints. */
  readonly fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  /** The run's own rate limiters (its suite's `providers[]` limits bind this run only). */
  readonly limiters?: ModelLimiters;
  /** The response cache's scope: the project (its cached answers are never another project's). */
  readonly cacheScope?: string;
  /** Before each LLM call (inside a case too): throws when the run's budget is spent, else holds the call's worst case. */
  readonly beforeCall?: CallScope['beforeCall'];
}

/** The `llmCallScope` of calls made for `kind` inside a tenant boundary (none: a developer's run). */
export function tenantCallScope(tenant: TenantBoundary | undefined, kind: 'target' | 'judge', record: (event: LlmCallEvent) => void): CallScope {
  return {
    kind,
    record,
    endpoints: tenant?.endpoints,
    projectFetch: tenant?.fetch,
    limiters: tenant?.limiters,
    cacheScope: tenant?.cacheScope,
    beforeCall: tenant?.beforeCall,
  };
}

export function judgeSettings(judge: JudgeSpec | undefined): ModelSettings | undefined {
  if (!judge) return undefined;
  return {
    provider: judge.provider,
    model: judge.model,
    baseUrl: judge.base_url,
    endpoint: judge.endpoint,
    // Judges default to temperature 0: reproducible verdicts, and their replies can be cached.
    temperature: judge.temperature ?? 0,
    maxTokens: judge.max_tokens ?? 2048,
    ...(judge.logprobs !== undefined ? { logprobs: judge.logprobs } : {}),
  };
}

const message = (error: unknown, env?: NodeJS.ProcessEnv): string =>
  redactSecrets(error instanceof Error ? error.message : String(error), env);

/** Whether the metric, as configured, errors on an empty actual_output instead of judging it. */
function refusesEmptyOutput(metric: ConfiguredMetric): boolean {
  const rule = metric.definition.refusesEmptyOutput;
  return typeof rule === 'function' ? rule(metric.params) : rule === true;
}

async function evaluateMetric(
  metric: ConfiguredMetric,
  testCase: EvaluatedCase,
  judge: Judge,
  threshold: number,
  env?: NodeJS.ProcessEnv,
): Promise<MetricResult> {
  const started = performance.now();
  const metered = judge.metered();
  const result: MetricResult = {
    metric: metric.id,
    name: metric.definition.name,
    score: null,
    passed: false,
    threshold,
    direction: metric.definition.direction,
    reason: '',
    error: null,
    judge_input_tokens: 0,
    judge_output_tokens: 0,
    judge_cost_usd: 0,
    duration_ms: 0,
  };
  try {
    const missing = requiredFields(metric).filter((field) => testCase[field] === undefined);
    if (missing.length > 0) throw new Error(`needs ${missing.join(' and ')}, and the case has none after its target ran`);
    if (testCase.actual_output === '' && refusesEmptyOutput(metric)) {
      // DeepEval's parameter check: an empty output is no answer to judge, not a score of whatever the judge makes of it.
      throw new Error(`actual_output is empty, and ${metric.definition.name} judges the output (as in DeepEval, the case errors instead of scoring)`);
    }
    const outcome = await metric.definition.evaluate({ testCase, params: metric.params, judge: metered, strictMode: metric.strictMode });
    const [low, high] = metric.definition.range;
    if (!Number.isFinite(outcome.score) || outcome.score < low || (high !== null && outcome.score > high)) {
      throw new Error(`scored ${outcome.score}, outside its range [${low}, ${high ?? '∞'}]`);
    }
    const score = metric.strictMode ? strictScore(metric.definition, outcome.score) : outcome.score;
    result.score = score;
    result.passed = passes(metric.definition, score, threshold);
    if (metric.strictMode) result.strict_mode = true;
    result.reason =
      metric.strictMode && score !== outcome.score
        ? `strict_mode: ${outcome.score} is ${score === 0 ? 'short of 1' : 'above 0'}, so ${score}. ${outcome.reason}`
        : outcome.reason;
    if (outcome.details !== undefined) result.details = outcome.details;
  } catch (error) {
    result.error = message(error, env);
    result.error_cause = errorCause(error);
    result.reason = `errored: ${result.error}`;
    if (error instanceof JudgeReplyError) result.raw_reply = redactSecrets(error.rawReply, env);
  }
  result.judge_input_tokens = metered.meter.inputTokens;
  result.judge_output_tokens = metered.meter.outputTokens;
  result.judge_cost_usd = metered.meter.costUsd;
  result.duration_ms = performance.now() - started;
  return result;
}

/** A case's result before anything ran: `errored` until the metrics say otherwise. */
export function pendingResult(loaded: LoadedSuite, index: number): CaseResult {
  const testCase = loaded.suite.cases[index];
  const result: CaseResult = {
    suite: loaded.suite.name,
    id: loaded.caseIds[index],
    index,
    status: 'errored',
    error: null,
    input: testCase.input,
    actual_output: testCase.actual_output ?? null,
    expected_output: testCase.expected_output ?? null,
    topic: testCase.topic ?? null,
    tags: testCase.tags ?? [],
    target: null,
    duration_ms: 0,
    metrics: {},
    usage: [],
  };
  if (testCase.metadata) result.metadata = testCase.metadata;
  if (testCase.turns) result.turns = testCase.turns;
  // What the case was judged against, as recorded in it (a target's own output replaces the first two).
  if (testCase.retrieval_context) result.retrieval_context = testCase.retrieval_context;
  if (testCase.tools_called) result.tools_called = testCase.tools_called;
  if (testCase.context) result.context = testCase.context;
  if (testCase.expected_tools) result.expected_tools = testCase.expected_tools;
  return result;
}

/**
 * Runs one case: the target when the case has no recorded output, then every metric. A failing target or
 * metric marks the case errored with its reason; nothing is skipped or scored silently.
 */
export async function evaluateCase(loaded: LoadedSuite, index: number, context: CaseContext, judge?: Judge): Promise<CaseResult> {
  const started = performance.now();
  const testCase = loaded.suite.cases[index];
  const base = pendingResult(loaded, index);
  const calls: LlmCallEvent[] = [];
  const record = (event: LlmCallEvent) => {
    calls.push(event);
    context.onLlmCall?.(event);
  };
  const finish = (result: CaseResult): CaseResult => {
    result.usage = usageByModel(calls);
    result.duration_ms = performance.now() - started;
    return result;
  };
  let evaluated: EvaluatedCase = testCase;
  if (targetRunsFor(loaded.suite.target, testCase)) {
    try {
      const output = await llmCallScope.run(tenantCallScope(context.tenant, 'target', record), () =>
        runTarget(loaded.suite.target, testCase, context.gateway, context.tenant ? { fetch: context.tenant.fetch, hideBodies: true } : {}),
      );
      evaluated = { ...testCase, ...output };
      base.actual_output = output.actual_output;
      if (output.turns) base.turns = output.turns;
      if (output.retrieval_context) base.retrieval_context = output.retrieval_context;
      if (output.tools_called) base.tools_called = output.tools_called;
      base.target = {
        latency_ms: output.latency_ms,
        cost_usd: output.cost_usd ?? null,
        input_tokens: output.input_tokens ?? 0,
        output_tokens: output.output_tokens ?? 0,
      };
    } catch (error) {
      base.error = `target failed: ${message(error, context.env)}`;
      base.error_cause = errorCause(error);
      return finish(base);
    }
  }
  const caseJudge = judge ?? new Judge(context.gateway, judgeSettings(loaded.suite.judge));
  // Each metric's calls carry its id: the viewer links a call to the metric and step it served.
  const judgeScope = tenantCallScope(context.tenant, 'judge', record);
  const results = await Promise.all(
    loaded.metrics.map((metric) =>
      llmCallScope.run({ ...judgeScope, metric: metric.id }, () =>
        evaluateMetric(metric, evaluated, caseJudge, context.thresholds?.[metric.id] ?? metric.threshold, context.env),
      ),
    ),
  );
  for (const result of results) base.metrics[result.metric] = result;
  base.status = results.some((r) => r.error !== null) ? 'errored' : results.every((r) => r.passed) ? 'passed' : 'failed';
  // The case's error is its first errored metric's, so the report and the console say why without digging.
  const failedMetric = results.find((r) => r.error !== null);
  if (failedMetric) {
    base.error = `${failedMetric.metric}: ${failedMetric.error}`;
    if (failedMetric.error_cause) base.error_cause = failedMetric.error_cause;
  }
  return finish(base);
}
