import { z } from 'zod';
import { buildSchema, type BuildMetadata } from './build';
import { testCaseSchema } from './case';
import type { ReportSummary } from './report';

/**
 * The orchestrator's HTTP API as both sides see it: the Hono app validates requests with these schemas, and
 * `evalctl run --server` reads the responses with these types.
 */

/**
 * POST /v1/runs. `suite` is a suite as in a suite file (validated by the engine); with `dataset`, its cases
 * come from that immutable dataset version and `suite.cases` must be absent.
 */
export const submitRunSchema = z
  .object({
    suite: z.record(z.string(), z.unknown()),
    dataset: z.object({ name: z.string().min(1).max(200), version: z.number().int().positive() }).strict().optional(),
    build: buildSchema.optional(),
  })
  .strict();

export const datasetNameSchema = z.string().min(1).max(200).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-"');

/** POST /v1/datasets as JSON; a DeepEval dataset file is sent as it is instead (see the datasets route). */
export const createDatasetSchema = z
  .object({
    name: datasetNameSchema,
    cases: z.array(testCaseSchema).min(1),
  })
  .strict();

export const runStatusSchema = z.enum(['queued', 'running', 'completed', 'completed_with_errors', 'cancelled', 'budget_exceeded']);
export type RunStatus = z.infer<typeof runStatusSchema>;

/** A case's state within its run: waiting, being evaluated, or ended one way or another. */
export type RunCaseStatus = 'queued' | 'running' | 'passed' | 'failed' | 'errored' | 'cancelled';

/** GET /v1/runs/{id}, and each entry of GET /v1/runs (there without `summary`). */
export interface RunView {
  id: string;
  suite: string;
  status: RunStatus;
  branch: string | null;
  build: BuildMetadata;
  progress: { total: number; completed: number; passed: number; failed: number; errored: number };
  /** USD spent on LLM calls by the cases counted so far, and the run's budget (null: none). */
  cost: { spent_usd: number; max_usd: number | null };
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** The report without its cases, once the run has finished. */
  summary?: ReportSummary | null;
}

export const listRunsQuery = z
  .object({
    project: z.string().optional(),
    suite: z.string().max(300).optional(),
    branch: z.string().max(300).optional(),
    status: runStatusSchema.optional(),
    cursor: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

export const resultsQuery = z
  .object({
    failed: z.enum(['true', 'false']).optional(),
    cursor: z.coerce.number().int().min(-1).optional(),
    limit: z.coerce.number().int().min(1).max(1_000).default(100),
  })
  .strict();

export const compareQuery = z
  .object({ base: z.uuid(), head: z.uuid(), max_drop: z.coerce.number().min(0).max(1).default(0) })
  .strict();

export const trendsQuery = z
  .object({
    project: z.string().optional(),
    metric: z.string().min(1).max(200),
    branch: z.string().max(300).optional(),
    limit: z.coerce.number().int().min(1).max(1_000).default(100),
  })
  .strict();

export const topicsQuery = z.object({ run: z.uuid() }).strict();

/** One point of GET /v1/trends: a run's mean score of the metric. */
export interface TrendPoint {
  run_id: string;
  build: string;
  commit: string;
  run_branch: string;
  started: string;
  mean: number;
  scored: number;
}

/** How one case of a run went, with the labels it was written with: what topics are grouped from. */
export interface CaseOutcome {
  case_index: number;
  /** True when every metric of the case passed. */
  passed: boolean;
  topic: string;
  tags: string[];
}

/** One LLM call a case made (target or judge), as the viewer shows it. */
export interface LlmCallView {
  kind: 'target' | 'judge';
  provider: string;
  model: string;
  status: 'ok' | 'error';
  error_status: number;
  cached: 0 | 1;
  attempts: number;
  rate_limited: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number | null;
  latency_ms: number;
  created_at: string;
  /** The metric (its id) the call served; '' for the target's calls. */
  metric: string;
  /** The step: the reply schema's name (`claims`, `truths`, `verdicts`…), `reply` for free text. */
  step: string;
  /** What was sent, as JSON (`{"system": …, "messages": [{"role", "content"}]}`), redacted and clipped; '' when not stored. */
  request: string;
  /** The reply's text, redacted and clipped; '' when not stored or the call failed. */
  response: string;
}

/** One group of GET /v1/topics. */
export interface TopicGroup {
  topic: string;
  cases: number;
  failed: number;
  fail_rate: number;
}

/** `PUT /v1/endpoints/:name`: a project's own LLM endpoint. The key is stored sealed and never returned. */
export const endpointNameSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, - and _ (at most 63)');
export const putEndpointSchema = z
  .object({
    provider: z.enum(['openai', 'anthropic']),
    base_url: z.url({ protocol: /^https?$/ }),
    api_key: z.string().min(8).max(4096),
    /** Model names or `*` patterns (matched in linear time; at most 8 wildcards each). */
    models: z
      .array(z.string().min(1).max(200).refine((p) => p.split('*').length - 1 <= 8, 'at most 8 * wildcards in a pattern'))
      .max(100)
      .optional(),
  })
  .strict();

/** An endpoint as the API shows it: never its key, only the key's last characters. */
export interface EndpointView {
  name: string;
  provider: 'openai' | 'anthropic';
  base_url: string | null;
  models: readonly string[] | null;
  owner: 'platform' | 'project';
  key_hint?: string;
}

/** The longest reviewer name and review comment the platform keeps. */
export const MAX_REVIEWER_LENGTH = 200;
export const MAX_COMMENT_LENGTH = 5_000;

/** `PUT /v1/runs/{id}/cases/{index}/reviews/{metric}`: a person's verdict on one LLM-judged metric of a case. */
export const putReviewSchema = z
  .object({
    /** Who reviews (a name or an e-mail address); one review per reviewer and metric of a case, replaced when sent again. */
    reviewer: z.string().min(1).max(MAX_REVIEWER_LENGTH),
    agree: z.boolean(),
    /** When disagreeing: what the verdict should have been; absent or null: the opposite of the judge's. */
    corrected_passed: z.boolean().nullable().optional(),
    comment: z.string().max(MAX_COMMENT_LENGTH).nullable().optional(),
  })
  .strict();

export const reviewsQuery = z.object({ case: z.coerce.number().int().min(0).optional() }).strict();

export const agreementQuery = z.object({ metric: z.string().min(1).max(200).optional(), run: z.uuid().optional() }).strict();

/** `POST /v1/links`: a read-only link to a run (and its baseline, for the comparison) that expires. */
export const createLinkSchema = z
  .object({
    run: z.uuid(),
    baseline: z.uuid().optional(),
    ttl_hours: z.number().int().min(1).max(336).default(72),
  })
  .strict();

/** A review as the API and the viewer show it. */
export interface ReviewView {
  case_index: number;
  metric: string;
  reviewer: string;
  agree: boolean;
  /** The judge's pass/fail when the review was made (the recorded score never changes). */
  judge_passed: boolean;
  /** The reviewer's verdict when disagreeing; null: the opposite of the judge's (or agreeing). */
  corrected_passed: boolean | null;
  comment: string | null;
  updated_at: string;
}

/** How far people agree with one judged metric: `GET /v1/agreement`, the viewer, and the Prometheus export. */
export interface AgreementView {
  metric: string;
  reviews: number;
  agreed: number;
  /** agreed / reviews. */
  agreement_rate: number;
  /** Cohen's kappa of the judge's pass/fail against the reviewers'; null unless both pass and fail occur. */
  kappa: number | null;
  /** judge × reviewer. */
  confusion: { pass_pass: number; pass_fail: number; fail_pass: number; fail_fail: number };
}

/** `POST /v1/links`: the path of the link (on the server it was asked of) and when it stops working. */
export interface LinkView {
  path: string;
  expires_at: string;
  runs: string[];
}
