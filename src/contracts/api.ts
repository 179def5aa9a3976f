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
    models: z.array(z.string().min(1).max(200)).max(100).optional(),
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
