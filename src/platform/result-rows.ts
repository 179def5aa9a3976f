import type { BuildMetadata } from '../contracts/build';
import type { LlmCallEvent } from '../providers/llm-gateway';
import type { CaseResult } from '../contracts/report';
import { clickhouseTime, type LlmCallRow, type ResultRow, type SpanScoreRow } from '../store/clickhouse/tables';
import { onlineCaseRef } from './online';
import { clipBody, clipText } from '../contracts/text';

export interface RowContext {
  project: string;
  runId: string;
  /** Every row of a run carries the run's creation time: the partition key, so a retried job's rows replace. */
  runCreatedAt: Date;
  build: BuildMetadata;
  judgeModel: string;
}

/** One `results` row per case × metric. `version` orders replacements: the latest write wins. */
export function resultRows(result: CaseResult, context: RowContext): ResultRow[] {
  const version = Date.now();
  const base = {
    project: context.project,
    run_id: context.runId,
    suite: result.suite,
    case_index: result.index,
    case_id: result.id,
    target_latency_ms: result.target?.latency_ms ?? null,
    topic: result.topic ?? '',
    tags: result.tags,
    git_sha: context.build.git_sha ?? '',
    branch: context.build.branch ?? '',
    pull_request: context.build.pull_request ?? '',
    build_id: context.build.build_id ?? '',
    run_created_at: clickhouseTime(context.runCreatedAt),
    version,
  };
  const metrics = Object.values(result.metrics);
  if (metrics.length === 0) {
    // A case that errored before any metric ran still shows up, as one errored row.
    return [
      {
        ...base,
        metric: '_case',
        metric_name: '_case',
        score: null,
        passed: 0 as const,
        errored: 1 as const,
        threshold: 0,
        reason: result.error ?? '',
        judge_model: '',
        judge_input_tokens: 0,
        judge_output_tokens: 0,
        judge_cost_usd: 0,
        duration_ms: result.duration_ms,
      },
    ];
  }
  return metrics.map((m) => ({
    ...base,
    metric: m.metric,
    metric_name: m.name,
    score: m.score,
    passed: m.passed ? 1 : 0,
    errored: m.error ? 1 : 0,
    threshold: m.threshold,
    reason: clipText(m.reason, 2_000),
    judge_model: context.judgeModel,
    judge_input_tokens: m.judge_input_tokens,
    judge_output_tokens: m.judge_output_tokens,
    judge_cost_usd: m.judge_cost_usd,
    duration_ms: m.duration_ms,
  }));
}

/**
 * What a call sent, as stored: `{"system", "messages": [{"role", "content"}]}` as JSON, each text cut so that
 * the whole stays near `max` characters (the system prompt to half of it; every message to an equal share of
 * the rest, 500 at least), after `protect` (the platform's redaction and storable-text rules) ran over it.
 */
export function requestBody(request: NonNullable<LlmCallEvent['request']>, max: number, protect: (text: string) => string): string {
  const system = request.system === undefined ? undefined : clipBody(protect(request.system), request.messages.length ? Math.floor(max / 2) : max);
  const share = Math.max(500, Math.floor((max - (system?.length ?? 0)) / Math.max(1, request.messages.length)));
  const messages = request.messages.map((message) => ({ role: message.role, content: clipBody(protect(message.content), share) }));
  return JSON.stringify(system === undefined ? { messages } : { system, messages });
}

/**
 * How calls' texts are stored: cut to `maxChars` and passed through `protect` (redaction); null: not stored
 * (the operator's retention is 0, or the project turned them off).
 */
export interface CallBodies {
  maxChars: number;
  protect: (text: string) => string;
}

export function llmCallRows(events: readonly LlmCallEvent[], context: Pick<RowContext, 'project' | 'runId'>, caseIndex: number, bodies: CallBodies | null = null): LlmCallRow[] {
  const now = clickhouseTime(new Date());
  return events.map((e) => ({
    project: context.project,
    run_id: context.runId,
    case_index: caseIndex,
    kind: e.kind,
    provider: e.provider,
    model: e.model,
    status: e.status,
    error_status: e.error_status ?? 0,
    cached: e.cached ? 1 : 0,
    attempts: Math.min(255, e.attempts),
    rate_limited: e.rate_limited,
    input_tokens: e.input_tokens,
    output_tokens: e.output_tokens,
    cached_input_tokens: e.cached_input_tokens,
    cost_usd: e.cost_usd,
    latency_ms: e.latency_ms,
    created_at: now,
    metric: e.metric ?? '',
    step: e.step ?? '',
    request: bodies && e.request ? requestBody(e.request, bodies.maxChars, bodies.protect) : '',
    response: bodies && e.response !== undefined ? clipBody(bodies.protect(e.response), bodies.maxChars) : '',
  }));
}

/**
 * The `span_scores` rows of a case an online evaluator's run scored: one per metric, beside the span it came
 * from (its trace and span ids, from the case's `metadata.online`). None for any other case.
 */
export function spanScoreRows(result: CaseResult, context: Pick<RowContext, 'project' | 'runId' | 'judgeModel'> & { evaluator: string }): SpanScoreRow[] {
  const ref = onlineCaseRef(result.metadata);
  if (!ref) return [];
  const scoredAt = clickhouseTime(new Date());
  return Object.values(result.metrics).map((m) => ({
    project: context.project,
    evaluator: context.evaluator,
    trace_id: ref.trace_id,
    span_id: ref.span_id,
    session_id: ref.session_id,
    service: ref.service,
    model: ref.model,
    metric: m.metric,
    metric_name: m.name,
    score: m.score,
    passed: m.passed ? 1 : 0,
    errored: m.error ? 1 : 0,
    threshold: m.threshold,
    reason: clipText(m.error ?? m.reason, 2_000),
    judge_model: context.judgeModel,
    judge_cost_usd: m.judge_cost_usd,
    run_id: context.runId,
    scored_at: scoredAt,
  }));
}
