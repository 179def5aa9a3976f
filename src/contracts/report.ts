import type { BuildMetadata } from './build';
import type { ToolCallSpec, Turn } from './case';

/**
 * Why a call failed, as the report records it (`errorCause` in providers/retry): `auth` (401/403: the key),
 * `unreachable` (connection or timeout), `outage` (5xx, or rate limits past the retry budget) or `other`
 * (a bad request, an unusable reply, an HTTP agent's own failure).
 */
export type ErrorCause = 'auth' | 'unreachable' | 'outage' | 'other';

/** The LLM providers a suite may name, as judge or target. */
export const PROVIDER_NAMES = ['openai', 'anthropic'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** Totals per provider and model, as written into the report (snake_case, like the rest of report.json). */
export interface ModelUsage {
  provider: ProviderName;
  model: string;
  calls: number;
  cache_hits: number;
  retries: number;
  rate_limited: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  cache_write_tokens: number;
  /** null when any call's price was unknown: the total would be a lie. */
  cost_usd: number | null;
}

export const REPORT_SCHEMA_VERSION = 1;

export interface MetricResult {
  /** The metric's key in the summary (its id, the name by default). */
  metric: string;
  name: string;
  /** null when the metric errored. */
  score: number | null;
  passed: boolean;
  threshold: number;
  direction: 'higher' | 'lower';
  reason: string;
  /** Why the metric could not score: a judge that never gave a usable reply, a missing field, an API failure. */
  error: string | null;
  /** What kind of failure `error` is (`auth`, `unreachable`, `outage`, `other`); absent when it did not error. */
  error_cause?: ErrorCause;
  /** The judge's unusable reply, kept when parsing failed. */
  raw_reply?: string;
  /** Scored under DeepEval's strict_mode: 1 or 0 (the reason gives the score before it was made pass/fail). */
  strict_mode?: true;
  details?: unknown;
  judge_input_tokens: number;
  judge_output_tokens: number;
  /** null: unknown (the judge's model has no price). */
  judge_cost_usd: number | null;
  duration_ms: number;
}

export type CaseStatus = 'passed' | 'failed' | 'errored';

export interface CaseResult {
  suite: string;
  id: string;
  index: number;
  status: CaseStatus;
  /**
   * Why the case errored: the target's failure (`target failed: …`), else the first errored metric's
   * (`<metric>: …`); null when it did not error.
   */
  error: string | null;
  /** The kind of that failure; `auth`, `unreachable` and `outage` mean the case was not evaluated at all. */
  error_cause?: ErrorCause;
  input: string;
  actual_output: string | null;
  expected_output: string | null;
  retrieval_context?: string[];
  tools_called?: ToolCallSpec[];
  /** The case's ground truth for hallucination, as recorded in it. */
  context?: string[];
  /** The tools the case expected, as recorded in it. */
  expected_tools?: ToolCallSpec[];
  /** A conversational case: the conversation as evaluated (the target's replies, or the recorded ones). */
  turns?: Turn[];
  topic: string | null;
  tags: string[];
  metadata?: Record<string, unknown>;
  target: { latency_ms: number | null; cost_usd: number | null; input_tokens: number; output_tokens: number } | null;
  duration_ms: number;
  metrics: Record<string, MetricResult>;
  /** The LLM calls this case made (target and judges), per model. */
  usage: ModelUsage[];
}

export interface MetricSummary {
  name: string;
  direction: 'higher' | 'lower';
  range: [number, number | null];
  threshold: number;
  needs_llm: boolean;
  mean: number | null;
  min: number | null;
  max: number | null;
  scored: number;
  passed: number;
  failed: number;
  errored: number;
  /** passed / (passed + failed + errored). */
  pass_rate: number;
}

export interface Report {
  schema_version: number;
  tool: { name: 'evalctl'; version: string };
  started_at: string;
  finished_at: string;
  duration_ms: number;
  build: BuildMetadata;
  project: string | null;
  suites: Array<{
    name: string;
    file: string;
    cases: number;
    target: string;
    judge: string | null;
    /** The system prompt the target model ran with (an `openai` or `anthropic` target that has one), clipped to 4,000 characters. */
    system_prompt?: string;
  }>;
  /** Metric id → mean score over the cases it scored (null when it scored none); the brief's jq gate reads this. */
  summary: Record<string, number | null>;
  metrics: Record<string, MetricSummary>;
  totals: { cases: number; passed: number; failed: number; errored: number; pass_rate: number };
  usage: {
    price_table_version: string;
    by_model: ModelUsage[];
    /** null when any model's price is unknown. */
    total_cost_usd: number | null;
    target_cost_usd: number | null;
    judge_cost_usd: number | null;
  };
  gate: {
    passed: boolean;
    /** The suites' gate settings: share of cases each metric must pass, errored cases tolerated. */
    rules: Array<{ suite: string; min_pass_rate: number; max_errored: number }>;
    failures: string[];
  };
  /**
   * A matrix run (`targets`): per target id, the same figures as the report's own over that target's cases
   * (its suites are `<suite>[<id>]`). `summary` above then averages over every target.
   */
  targets?: Record<string, TargetReport>;
  /** A platform run with `max_cost_usd`: what it could spend, what it spent, and the cases it did not start once it was spent. */
  budget?: { max_cost_usd: number; spent_usd: number; exceeded: boolean; not_evaluated: number };
  /** `evalctl run --server`: the platform the suites ran on and each suite's run there (its viewer pages). */
  platform?: { server: string; runs: Array<{ suite: string; run_id: string }> };
  cases: CaseResult[];
}

/** One target of a matrix: its suites, metric means and statistics, totals, gate and cost. */
export interface TargetReport {
  suites: string[];
  summary: Record<string, number | null>;
  metrics: Record<string, MetricSummary>;
  totals: Report['totals'];
  gate: { passed: boolean; failures: string[] };
  /** null when a price is unknown. */
  cost_usd: number | null;
}

/**
 * The report kept on a finished run's row: the report without its cases, plus the topic labels the run's judge
 * gave the cases that had neither topic nor tags (case index → label), written once labelling is done.
 */
export type ReportSummary = Omit<Report, 'cases'> & {
  topic_labels?: Record<string, string>;
  /** The metrics' ids in the suite's order (a stored summary's objects lose their key order). */
  metric_order?: string[];
};
