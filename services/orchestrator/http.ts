import type { ClickHouseClient } from '@clickhouse/client';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { CaseQueue } from '../../src/queue/types';
import { getRun, type RunHeader } from '../../src/store/postgres/runs';
import type { RunView } from '../../src/contracts/api';
import { roundUsd } from '../../src/platform/run-results';
import type { Database, Project } from '../../src/store/postgres/schema';
import type { PlatformMetrics } from '../../src/telemetry/metrics';
import type { ApiLimits } from '../../src/platform/config';
import type { TenancyConfig } from '../../src/platform/tenancy';
import type { Logger } from '../runtime';
import { badString, jsonDepth } from './limits';

export interface OrchestratorDeps {
  readonly db: Kysely<Database>;
  readonly queue: CaseQueue;
  readonly clickhouse: ClickHouseClient;
  readonly clickhouseDatabase: string;
  readonly metrics: PlatformMetrics;
  readonly version: string;
  /** Per-project limits and body sizes; each absent field has its default (`DEFAULT_API_LIMITS`). */
  readonly limits?: Partial<ApiLimits>;
  /** The endpoints and egress rules submitted suites are checked against; default: from this process's environment. */
  readonly tenancy?: TenancyConfig;
  readonly log?: Logger;
}

/** What the route groups receive: the dependencies with their defaults applied (by `createApp`, once). */
export type RouteDeps = OrchestratorDeps & { readonly limits: ApiLimits; readonly tenancy: TenancyConfig };

/** The project of the request's API key, and the key's id, set by the authentication middleware on every `/v1` route. */
export type AppEnv = { Variables: { project: Project; apiKeyId: string } };

/**
 * A JSON response written as its pieces are made (a report of 100,000 cases is never one string). The first
 * piece is made before the response starts, so a failure there is still an error status; a failure later
 * ends the response early, and the truncated JSON does not parse.
 */
export async function streamedJson(pieces: AsyncIterable<string>): Promise<Response> {
  const iterator = pieces[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  const first = await iterator.next();
  let pending: string | undefined = first.done ? undefined : first.value;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (pending !== undefined) {
        controller.enqueue(encoder.encode(pending));
        pending = undefined;
        return;
      }
      const next = await iterator.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value));
    },
    async cancel() {
      await iterator.return?.(undefined);
    },
  });
  return new Response(body, { headers: { 'content-type': 'application/json; charset=UTF-8' } });
}

/** Every error answers `{ error: { code, message, field? } }`; `problems` lists a suite's validation problems. */
export function fail(status: 400 | 401 | 404 | 409 | 413 | 415 | 422 | 429 | 503, message: string, field?: string, extra?: Record<string, unknown>, retryAfterSeconds?: number): never {
  const code = { 400: 'bad_request', 401: 'unauthorized', 404: 'not_found', 409: 'conflict', 413: 'too_large', 415: 'unsupported_media_type', 422: 'unprocessable', 429: 'too_many_requests', 503: 'unavailable' }[status];
  const body = JSON.stringify({ error: { code, message, ...(field ? { field } : {}), ...extra } });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterSeconds)));
  throw new HTTPException(status, { res: new Response(body, { status, headers }) });
}

/** Arrays and objects nested deeper than this are refused before parsing (a suite needs a handful of levels). */
export const MAX_JSON_DEPTH = 64;

/**
 * The body as JSON: refused with 400 naming the place when it is not JSON, nests deeper than MAX_JSON_DEPTH,
 * or holds a string Postgres cannot store (a NUL character, a lone surrogate).
 */
export async function readJson(c: Context): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) fail(415, 'send JSON with Content-Type: application/json', 'content-type');
  const text = await c.req.text();
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) fail(400, `the body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`, 'body');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return fail(400, `the body is not valid JSON: ${(error as Error).message}`, 'body');
  }
  const bad = badString(value);
  if (bad) fail(400, `${bad.path}: ${bad.problem}`, bad.path);
  return value;
}

/** A field's path as errors name it: `cases[0].input`, `[3].expected_tools[0].name`. */
export const fieldPath = (path: readonly PropertyKey[]): string =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${String(p)}` : String(p))).join('');

/** Validates a body or query with its contract schema; the first problem answers 400 naming the field. */
export function parse<T>(schema: z.ZodType<T>, value: unknown, where: 'body' | 'query'): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
  const field = path.length ? fieldPath(path) : where;
  return fail(400, `${field}: ${issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message}`, field);
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The cursor of a list of runs: the last run's `<created_at ISO>|<id>`, opaque to clients. */
export const encodeCursor = (run: { created_at: Date | string; id: string }): string => Buffer.from(`${new Date(run.created_at).toISOString()}|${run.id}`).toString('base64url');

/** A cursor back into its parts; anything else gets `refused()`'s answer (an error, or no cursor). */
export function decodeCursor<T>(cursor: string, refused: () => T): { createdAt: string; id: string } | T {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!createdAt || !id || !UUID.test(id) || Number.isNaN(Date.parse(createdAt))) return refused();
  return { createdAt, id };
}

/** A run of the caller's project; another project's run is indistinguishable from a missing one. */
export async function ownRun(db: Kysely<Database>, c: Context<AppEnv>, id: string): Promise<RunHeader> {
  if (!UUID.test(id)) fail(404, `no run ${id}`, 'id');
  const run = await getRun(db, c.get('project').id, id);
  if (!run) fail(404, `no run ${id}`, 'id');
  return run;
}

type ViewedRun = Omit<RunHeader, 'project_id' | 'dataset_version_id' | 'idempotency_key' | 'summary'> & { summary?: RunHeader['summary'] };

/** Dates travel as ISO strings, which is what JSON makes of them. */
const iso = (date: Date): string => new Date(date).toISOString();

/** A run's status view; the list leaves out the summary. */
export function runView(run: ViewedRun): RunView {
  return {
    id: run.id,
    suite: run.suite_name,
    status: run.status,
    branch: run.branch,
    build: run.build,
    progress: {
      total: run.total_cases,
      completed: run.completed_cases,
      passed: run.passed_cases,
      failed: run.failed_cases,
      errored: run.errored_cases,
    },
    cost: { spent_usd: roundUsd(run.cost_usd), max_usd: run.max_cost_usd },
    created_at: iso(run.created_at),
    started_at: run.started_at === null ? null : iso(run.started_at),
    finished_at: run.finished_at === null ? null : iso(run.finished_at),
    summary: run.summary,
  };
}
