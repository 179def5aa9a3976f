import { z } from 'zod';
import { testCaseSchema } from '../../src/suite/schema';

/** Build metadata a client may attach to a run (evalctl sends what it detected in CI). */
export const buildSchema = z
  .object({
    ci: z.string().max(100).nullable().optional(),
    git_sha: z.string().max(100).nullable().optional(),
    branch: z.string().max(300).nullable().optional(),
    pull_request: z.string().max(100).nullable().optional(),
    build_id: z.string().max(200).nullable().optional(),
    build_url: z.string().max(2_000).nullable().optional(),
  })
  .strict();

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

export const createDatasetSchema = z
  .object({
    name: z.string().min(1).max(200).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-"'),
    cases: z.array(testCaseSchema).min(1),
  })
  .strict();

export const runStatusSchema = z.enum(['queued', 'running', 'completed', 'completed_with_errors', 'cancelled']);

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
